/**
 * The Bot API methods the bot uses, each defined once: its name, how its parameters go on the
 * wire, and the schema of the part of its result the bot reads. They are thin wrappers of the
 * one `call` (`BotApiCall.ts`), so every implementation — HTTP, recorder, console — has them,
 * and adding a method is one entry in `botApiMethods`.
 *
 * Results are read tolerantly: only the fields the bot uses are decoded, extra fields are
 * ignored, and a method whose result the bot does not use does not decode it at all.
 */
import { summarizeParseError } from "../domain/decodeErrors.ts"
import { Duration, Effect, Either, Option, Schema } from "effect"
import { type Destination, type To, toDestination } from "../domain/Destination.ts"
import { BusinessConnection } from "../domain/BusinessConnection.ts"
import { TelegramId, Update } from "../domain/Update.ts"
import { TextEntity } from "./format/FormattedText.ts"
import { type CopyMessage, ForumTopic, type InlineButton, inlineKeyboardMarkup, MessageId } from "./BotApiTopics.ts"
import { articleParams, type EditInlineText, type InlineAnswer, type InlineArticle, SentGuestMessage } from "./BotApiInline.ts"
import { type BotApiCall, type BotApiParams, type CallOptions, defined, nonEmpty, type TelegramError } from "./BotApiProtocol.ts"

export const ParseMode = Schema.Literal("MarkdownV2", "HTML", "Markdown")
export type ParseMode = typeof ParseMode.Type

export { type CopyMessage, ForumTopic, type InlineButton, MessageId } from "./BotApiTopics.ts"
export { type EditInlineText, type InlineAnswer, type InlineArticle, SentGuestMessage } from "./BotApiInline.ts"

export interface SendMessage extends Destination {
  readonly text: string
  readonly parseMode?: ParseMode | undefined
  /** Formatting as entities (UTF-16 offsets), instead of a `parseMode`. */
  readonly entities?: ReadonlyArray<TextEntity> | undefined
  /** Inline keyboard buttons under the message, row by row (`reply_markup.inline_keyboard`). */
  readonly inlineKeyboard?: ReadonlyArray<ReadonlyArray<InlineButton>> | undefined
}

/** A draft of a message being written (`sendMessageDraft`): shown to the user, not a message. */
export interface MessageDraft {
  readonly to: Destination
  /** Non-zero; the drafts of one answer share it, each one replacing the previous. */
  readonly draftId: number
  readonly text: string
  readonly entities?: ReadonlyArray<TextEntity> | undefined
  /** Shows the Stop button (Bot API 10.3): pressed, a `stopped_message_generation` update comes. */
  readonly canStop?: boolean | undefined
  /** Whether the draft stays on screen when stopped (until the bot sends a message). */
  readonly keepOnStop?: boolean | undefined
}

/** A rich message (Bot API 10.1): its content as rich Markdown (`rich_message.markdown`). */
export interface SendRichMessage extends Destination {
  readonly markdown: string
}

/** A draft of a rich message being written (`sendRichMessageDraft`, private chats). */
export interface RichMessageDraft {
  readonly to: Destination
  readonly draftId: number
  readonly markdown: string
  readonly canStop?: boolean | undefined
  readonly keepOnStop?: boolean | undefined
}

/** A command menu (`setMyCommands`): the commands of a scope, in one language or (no code) in the default one. */
export interface CommandMenu {
  readonly commands: ReadonlyArray<{ readonly command: string; readonly description: string }>
  readonly scope: "default" | "all_private_chats" | "all_group_chats" | "all_chat_administrators"
  /** A two-letter ISO 639-1 code; none: for every user without a menu in their language. */
  readonly languageCode?: string | undefined
}

/** The bot's reaction on a message (`setMessageReaction`); no emoji removes it. */
export interface MessageReaction {
  readonly chatId: TelegramId
  readonly messageId: number
  readonly emoji?: string | undefined
}

/** A new text of a message the bot sent (`editMessageText`). */
export interface EditMessageText {
  readonly to: Destination
  readonly messageId: number
  readonly text: string
  readonly entities?: ReadonlyArray<TextEntity> | undefined
  /** The new content as a rich message (Bot API 10.1) instead of `text` and `entities`. */
  readonly richMarkdown?: string | undefined
}

export const SentMessage = Schema.Struct({
  message_id: Schema.Number,
  date: Schema.optional(Schema.Number)
})
export type SentMessage = typeof SentMessage.Type

/** The bot's own user, as getMe answers it: only what the bot shows (`@username`, or the name). */
export const BotUser = Schema.Struct({
  id: Schema.Number,
  first_name: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String)
})
export type BotUser = typeof BotUser.Type

export const WebhookInfo = Schema.Struct({
  url: Schema.String,
  has_custom_certificate: Schema.optional(Schema.Boolean),
  pending_update_count: Schema.optional(Schema.Number),
  last_error_date: Schema.optional(Schema.Number),
  last_error_message: Schema.optional(Schema.String),
  max_connections: Schema.optional(Schema.Number),
  allowed_updates: Schema.optional(Schema.Array(Schema.String))
})
export type WebhookInfo = typeof WebhookInfo.Type

/** A file ready to be downloaded, as getFile answers it: `file_path` is valid for at least an hour. */
export const TelegramFile = Schema.Struct({
  file_id: Schema.String,
  file_unique_id: Schema.String,
  file_size: Schema.optional(Schema.Number),
  file_path: Schema.optional(Schema.String)
})
export type TelegramFile = typeof TelegramFile.Type

export interface GetUpdates {
  readonly offset?: number | undefined
  readonly limit?: number | undefined
  /** Long-poll timeout in seconds. */
  readonly timeout?: number | undefined
  readonly allowedUpdates?: ReadonlyArray<string> | undefined
}

/**
 * One element of getUpdates' result: a decoded update, or one that is not a valid Update
 * (kept as it came, with its update_id when it has one, so the poller can move past it).
 */
export type PolledUpdate =
  | { readonly _tag: "Received"; readonly json: string; readonly update: Update }
  | { readonly _tag: "Undecodable"; readonly json: string; readonly updateId: number | undefined; readonly reason: string }

export interface SetWebhook {
  readonly url: string
  readonly secretToken?: string | undefined
  readonly allowedUpdates?: ReadonlyArray<string> | undefined
  readonly maxConnections?: number | undefined
  readonly dropPendingUpdates?: boolean | undefined
}

/** The result of a method the bot does not read (`true` for the methods below): not decoded. */
const Ignored = Schema.Unknown

/** The parameters that say where a message or chat action goes. */
export const destinationParams = (to: Destination): BotApiParams =>
  defined({
    chat_id: to.chatId,
    message_thread_id: to.threadId,
    business_connection_id: to.businessConnectionId,
    reply_parameters: to.replyToMessageId === undefined
      ? undefined
      : { message_id: to.replyToMessageId, allow_sending_without_reply: true }
  })

const sendMessageParams = (message: SendMessage): BotApiParams => ({
  ...destinationParams(message),
  ...defined({
    text: message.text,
    parse_mode: message.parseMode,
    entities: nonEmpty(message.entities),
    reply_markup: inlineKeyboardMarkup(message.inlineKeyboard)
  })
})

const SendMessageParams = Schema.Struct({
  chat_id: TelegramId,
  message_thread_id: Schema.optional(Schema.Number),
  business_connection_id: Schema.optional(Schema.String),
  text: Schema.String,
  parse_mode: Schema.optional(ParseMode),
  entities: Schema.optional(Schema.Array(TextEntity)),
  reply_parameters: Schema.optional(Schema.Struct({ message_id: Schema.Number }))
})

/** The message a sendMessage call carries, read back from its parameters (the recorder's `sent`). */
export const sendMessageOf = (params: BotApiParams): Option.Option<SendMessage> =>
  Option.map(Schema.decodeUnknownOption(SendMessageParams)(params), (p): SendMessage => ({
    chatId: p.chat_id,
    text: p.text,
    ...(p.message_thread_id === undefined ? {} : { threadId: p.message_thread_id }),
    ...(p.business_connection_id === undefined ? {} : { businessConnectionId: p.business_connection_id }),
    ...(p.parse_mode === undefined ? {} : { parseMode: p.parse_mode }),
    ...(p.entities === undefined ? {} : { entities: p.entities }),
    ...(p.reply_parameters === undefined ? {} : { replyToMessageId: p.reply_parameters.message_id })
  }))

const decodeUpdateEither = Schema.decodeUnknownEither(Update, { onExcessProperty: "ignore" })

/** One element of getUpdates' result, decoded alone: one update the schema rejects does not lose the others. */
const decodePolled = (raw: unknown): PolledUpdate => {
  const json = JSON.stringify(raw)
  const updateId = typeof raw === "object" && raw !== null && "update_id" in raw && typeof raw.update_id === "number"
    ? raw.update_id
    : undefined
  return Either.match(decodeUpdateEither(raw), {
    onRight: (update): PolledUpdate => ({ _tag: "Received", json, update }),
    onLeft: (error): PolledUpdate => ({
      _tag: "Undecodable",
      json,
      updateId,
      reason: summarizeParseError(error)
    })
  })
}

/** The typed methods over one `call`. */
export const botApiMethods = (call: BotApiCall) => ({
  /** The bot's own user (checks the token). */
  getMe: call("getMe", {}, BotUser),

  sendMessage: (message: SendMessage, options?: CallOptions): Effect.Effect<SentMessage, TelegramError> =>
    call("sendMessage", sendMessageParams(message), SentMessage, options),

  sendChatAction: (to: To, action: "typing", options?: CallOptions): Effect.Effect<void, TelegramError> => {
    // A chat action has no reply: only the chat, topic and business connection apply.
    const { replyToMessageId: _, ...where } = toDestination(to)
    return Effect.asVoid(call("sendChatAction", { ...destinationParams(where), action }, Ignored, options))
  },

  /**
   * A draft of the answer being written (Bot API 9.3+). Only the chat and the topic apply: a
   * draft has no reply and no business connection.
   */
  sendMessageDraft: (draft: MessageDraft, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "sendMessageDraft",
      defined({
        chat_id: draft.to.chatId,
        message_thread_id: draft.to.threadId,
        draft_id: draft.draftId,
        text: draft.text,
        entities: nonEmpty(draft.entities),
        can_stop: draft.canStop,
        keep_on_stop: draft.keepOnStop
      }),
      Ignored,
      options
    )),

  /** A rich message (Bot API 10.1): headings, tables, code, formulas, up to 32,768 characters. */
  sendRichMessage: (message: SendRichMessage, options?: CallOptions): Effect.Effect<SentMessage, TelegramError> =>
    call("sendRichMessage", { ...destinationParams(message), rich_message: { markdown: message.markdown } }, SentMessage, options),

  /** A draft of a rich message (Bot API 10.1), private chats only: the chat and the topic apply. */
  sendRichMessageDraft: (draft: RichMessageDraft, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "sendRichMessageDraft",
      defined({
        chat_id: draft.to.chatId,
        message_thread_id: draft.to.threadId,
        draft_id: draft.draftId,
        rich_message: { markdown: draft.markdown },
        can_stop: draft.canStop,
        keep_on_stop: draft.keepOnStop
      }),
      Ignored,
      options
    )),

  /** Replaces the text of a message the bot sent; its entities (or its rich content) replace the old ones. */
  editMessageText: (edit: EditMessageText, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "editMessageText",
      defined({
        business_connection_id: edit.to.businessConnectionId,
        chat_id: edit.to.chatId,
        message_id: edit.messageId,
        ...(edit.richMarkdown === undefined
          ? { text: edit.text, entities: nonEmpty(edit.entities) }
          : { rich_message: { markdown: edit.richMarkdown } })
      }),
      Ignored,
      options
    )),

  /** Opens a topic in a forum supergroup (the bot must be an admin allowed to manage topics). */
  createForumTopic: (chatId: TelegramId, name: string, options?: CallOptions): Effect.Effect<ForumTopic, TelegramError> =>
    call("createForumTopic", { chat_id: chatId, name }, ForumTopic, options),

  /** Closes a forum topic (it stays readable; the bot must be an admin allowed to manage topics). */
  closeForumTopic: (chatId: TelegramId, threadId: number, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call("closeForumTopic", { chat_id: chatId, message_thread_id: threadId }, Ignored, options)),

  /** Copies a message of any kind without a link to the original; answers the copy's id. */
  copyMessage: (copy: CopyMessage, options?: CallOptions): Effect.Effect<MessageId, TelegramError> => {
    // copyMessage has no business connection: only the chat, topic and reply apply.
    const { businessConnectionId: _, ...where } = copy.to
    return call(
      "copyMessage",
      { ...destinationParams(where), from_chat_id: copy.fromChatId, message_id: copy.messageId },
      MessageId,
      options
    )
  },

  /** Answers a guest message (Bot API 10.0) with one article; answers the message sent, to edit it. */
  answerGuestQuery: (queryId: string, article: InlineArticle, options?: CallOptions): Effect.Effect<SentGuestMessage, TelegramError> =>
    call("answerGuestQuery", { guest_query_id: queryId, result: articleParams(article) }, SentGuestMessage, options),

  /** Answers an inline query with its results (or none, with a button to the private chat). */
  answerInlineQuery: (answer: InlineAnswer, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "answerInlineQuery",
      defined({
        inline_query_id: answer.queryId,
        results: answer.results.map(articleParams),
        cache_time: answer.cacheTime,
        // The texts are in the user's language: not shared with other users.
        is_personal: true,
        button: answer.button === undefined ? undefined : { text: answer.button.text, start_parameter: answer.button.startParameter }
      }),
      Ignored,
      options
    )),

  /** Replaces the text of an inline message; its inline keyboard goes (none is given). */
  editInlineMessageText: (edit: EditInlineText, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "editMessageText",
      defined({ inline_message_id: edit.inlineMessageId, text: edit.text, entities: nonEmpty(edit.entities) }),
      Ignored,
      options
    )),

  answerCallbackQuery: (id: string, text?: string, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call("answerCallbackQuery", defined({ callback_query_id: id, text }), Ignored, options)),

  /** Long polling: waits up to `request.timeout` seconds for updates, beyond the usual request timeout. */
  getUpdates: (request: GetUpdates, options?: CallOptions): Effect.Effect<ReadonlyArray<PolledUpdate>, TelegramError> => {
    const pollSeconds = request.timeout ?? 0
    return call(
      "getUpdates",
      defined({
        offset: request.offset,
        limit: request.limit,
        timeout: pollSeconds,
        allowed_updates: request.allowedUpdates
      }),
      // Decoded element by element (`decodePolled`).
      Schema.Array(Schema.Unknown),
      { longPoll: Duration.seconds(pollSeconds), ...options }
    ).pipe(Effect.map((raw) => raw.map(decodePolled)))
  },

  setWebhook: (request: SetWebhook, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "setWebhook",
      defined({
        url: request.url,
        secret_token: request.secretToken,
        allowed_updates: request.allowedUpdates,
        max_connections: request.maxConnections,
        drop_pending_updates: request.dropPendingUpdates
      }),
      Ignored,
      options
    )),

  deleteWebhook: (dropPendingUpdates: boolean, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call("deleteWebhook", { drop_pending_updates: dropPendingUpdates }, Ignored, options)),

  getWebhookInfo: call("getWebhookInfo", {}, WebhookInfo),

  /** Where a file a user sent can be downloaded (`file_path`, under the Bot API's file endpoint). */
  getFile: (fileId: string, options?: CallOptions): Effect.Effect<TelegramFile, TelegramError> =>
    call("getFile", { file_id: fileId }, TelegramFile, options),

  /** A business connection as Telegram knows it now (its owner, whether it is enabled and may reply). */
  getBusinessConnection: (id: string, options?: CallOptions): Effect.Effect<BusinessConnection, TelegramError> =>
    call("getBusinessConnection", { business_connection_id: id }, BusinessConnection, options),

  /** The command menu of a scope (private chats, groups…), for users of one language or (none) for all others. */
  setMyCommands: (menu: CommandMenu, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "setMyCommands",
      defined({ commands: menu.commands, scope: { type: menu.scope }, language_code: menu.languageCode }),
      Ignored,
      options
    )),

  /** Replaces the bot's reaction on a message: one emoji, or none to remove it. */
  setMessageReaction: (reaction: MessageReaction, options?: CallOptions): Effect.Effect<void, TelegramError> =>
    Effect.asVoid(call(
      "setMessageReaction",
      defined({
        chat_id: reaction.chatId,
        message_id: reaction.messageId,
        reaction: reaction.emoji === undefined ? [] : [{ type: "emoji", emoji: reaction.emoji }]
      }),
      Ignored,
      options
    ))
})

export type BotApiMethods = ReturnType<typeof botApiMethods>
