/**
 * Schemas of the Telegram Bot API objects the bot reads.
 *
 * Every struct ignores fields it does not know (Telegram adds fields often), and every update
 * type the Bot API defines is listed so that an update of any kind decodes. Identifiers are
 * integers checked to be exact in a JavaScript number: Telegram documents that user and chat
 * ids have at most 52 significant bits, so a value outside the safe-integer range is a
 * malformed update and is rejected instead of being silently rounded.
 */
import { Option, Schema } from "effect"

/** A Telegram identifier (user, chat, update, message): an integer exact in a JS number. */
export const TelegramId = Schema.Number.pipe(
  Schema.filter((n) => Number.isSafeInteger(n), {
    message: () => "expected an integer exact in 64-bit-safe range (|n| ≤ 2^53 − 1)"
  }),
  Schema.brand("TelegramId")
)
export type TelegramId = typeof TelegramId.Type

export const User = Schema.Struct({
  id: TelegramId,
  is_bot: Schema.Boolean,
  first_name: Schema.String,
  last_name: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  language_code: Schema.optional(Schema.String),
  is_premium: Schema.optional(Schema.Boolean)
})
export type User = typeof User.Type

export const Chat = Schema.Struct({
  id: TelegramId,
  type: Schema.String,
  title: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  first_name: Schema.optional(Schema.String),
  last_name: Schema.optional(Schema.String),
  /** True for a supergroup with forum topics. */
  is_forum: Schema.optional(Schema.Boolean)
})
export type Chat = typeof Chat.Type

export const MessageEntity = Schema.Struct({
  type: Schema.String,
  offset: Schema.Number,
  length: Schema.Number,
  /** The user a `text_mention` entity points to (users without a username). */
  user: Schema.optional(User)
})
export type MessageEntity = typeof MessageEntity.Type

/** A service message: a forum topic was created (`forum_topic_created`). */
export const ForumTopicCreated = Schema.Struct({
  name: Schema.String,
  icon_color: Schema.optional(Schema.Number),
  icon_custom_emoji_id: Schema.optional(Schema.String)
})

const PhotoSize = Schema.Struct({
  file_id: Schema.String,
  file_unique_id: Schema.String,
  width: Schema.Number,
  height: Schema.Number,
  file_size: Schema.optional(Schema.Number)
})

const Sticker = Schema.Struct({
  file_id: Schema.String,
  file_unique_id: Schema.String,
  emoji: Schema.optional(Schema.String)
})

/** Media kinds the bot cannot read; they are only detected, never decoded further. */
export const mediaFields = [
  "animation",
  "audio",
  "document",
  "paid_media",
  "photo",
  "sticker",
  "story",
  "video",
  "video_note",
  "voice",
  "contact",
  "dice",
  "game",
  "poll",
  "venue",
  "location"
] as const

/** A payment received (Bot API `SuccessfulPayment`); in Telegram Stars `currency` is `XTR`. */
export const SuccessfulPayment = Schema.Struct({
  currency: Schema.String,
  total_amount: Schema.Number,
  invoice_payload: Schema.String,
  /** Subscriptions: when the paid period ends (Unix time). */
  subscription_expiration_date: Schema.optional(Schema.Number),
  /** A subscription's payment, renewals included. */
  is_recurring: Schema.optional(Schema.Boolean),
  is_first_recurring: Schema.optional(Schema.Boolean),
  shipping_option_id: Schema.optional(Schema.String),
  telegram_payment_charge_id: Schema.String,
  provider_payment_charge_id: Schema.optional(Schema.String)
})
export type SuccessfulPayment = typeof SuccessfulPayment.Type

/** A payment refunded (Bot API `RefundedPayment`). */
export const RefundedPayment = Schema.Struct({
  currency: Schema.String,
  total_amount: Schema.Number,
  invoice_payload: Schema.String,
  telegram_payment_charge_id: Schema.String,
  provider_payment_charge_id: Schema.optional(Schema.String)
})
export type RefundedPayment = typeof RefundedPayment.Type

/** A user about to pay an invoice: the bot must answer it (`answerPreCheckoutQuery`) within 10 seconds. */
export const PreCheckoutQuery = Schema.Struct({
  id: Schema.String,
  from: User,
  currency: Schema.String,
  total_amount: Schema.Number,
  invoice_payload: Schema.String,
  shipping_option_id: Schema.optional(Schema.String),
  order_info: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
})
export type PreCheckoutQuery = typeof PreCheckoutQuery.Type

/**
 * A user's subscription to the bot changed (Bot API 10.2 `BotSubscriptionUpdated`): `canceled`
 * by the user, `active` again after a cancel, or `failed` (the renewal's payment failed). Other
 * states Telegram may add are kept as text.
 */
export const BotSubscriptionUpdated = Schema.Struct({
  user: User,
  invoice_payload: Schema.String,
  state: Schema.String
})
export type BotSubscriptionUpdated = typeof BotSubscriptionUpdated.Type

const messageFields = {
  message_id: Schema.Number,
  date: Schema.Number,
  chat: Chat,
  from: Schema.optional(User),
  sender_chat: Schema.optional(Chat),
  edit_date: Schema.optional(Schema.Number),
  text: Schema.optional(Schema.String),
  caption: Schema.optional(Schema.String),
  entities: Schema.optional(Schema.Array(MessageEntity)),
  caption_entities: Schema.optional(Schema.Array(MessageEntity)),
  /** The forum topic (or reply thread) the message belongs to. */
  message_thread_id: Schema.optional(Schema.Number),
  /** True when the message was sent in a forum topic (not the General one). */
  is_topic_message: Schema.optional(Schema.Boolean),
  forum_topic_created: Schema.optional(ForumTopicCreated),
  /** The business connection a `business_message` came through (answers are sent on it). */
  business_connection_id: Schema.optional(Schema.String),
  /** The bot that sent an outgoing business message on the owner's behalf. */
  sender_business_bot: Schema.optional(User),
  /** A guest message (Bot API 10.0): the query to answer with `answerGuestQuery`. */
  guest_query_id: Schema.optional(Schema.String),
  photo: Schema.optional(Schema.Array(PhotoSize)),
  sticker: Schema.optional(Sticker),
  successful_payment: Schema.optional(SuccessfulPayment),
  refunded_payment: Schema.optional(RefundedPayment)
}

// Media kinds and any other field are kept as they came, untyped: they are only tested for presence.
const otherFields = Schema.Record({ key: Schema.String, value: Schema.Unknown })

/** The part of a message a reply quotes (`TextQuote`). */
export const TextQuote = Schema.Struct({
  text: Schema.String,
  position: Schema.optional(Schema.Number),
  is_manual: Schema.optional(Schema.Boolean)
})

const Named = Schema.Struct({
  first_name: Schema.optional(Schema.String),
  last_name: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String)
})

/** A message of another chat (or topic) a reply answers (`ExternalReplyInfo`): who wrote it and where. */
export const ExternalReplyInfo = Schema.Struct(
  {
    origin: Schema.optional(Schema.Struct({
      type: Schema.String,
      sender_user: Schema.optional(Named),
      sender_user_name: Schema.optional(Schema.String),
      sender_chat: Schema.optional(Named),
      chat: Schema.optional(Named)
    })),
    chat: Schema.optional(Named)
  },
  Schema.Record({ key: Schema.String, value: Schema.Unknown })
)
export type ExternalReplyInfo = typeof ExternalReplyInfo.Type

/** A message quoted by another one (Telegram does not nest quotes further). */
export const QuotedMessage = Schema.Struct(messageFields, otherFields)

export const Message = Schema.Struct(
  {
    ...messageFields,
    reply_to_message: Schema.optional(QuotedMessage),
    quote: Schema.optional(TextQuote),
    external_reply: Schema.optional(ExternalReplyInfo)
  },
  otherFields
)
export type Message = typeof Message.Type

export const CallbackQuery = Schema.Struct({
  id: Schema.String,
  from: User,
  chat_instance: Schema.optional(Schema.String),
  data: Schema.optional(Schema.String),
  message: Schema.optional(Message)
})
export type CallbackQuery = typeof CallbackQuery.Type

export const ChatMember = Schema.Struct({
  user: User,
  status: Schema.String
})

export const ChatMemberUpdated = Schema.Struct({
  chat: Chat,
  from: User,
  date: Schema.Number,
  old_chat_member: ChatMember,
  new_chat_member: ChatMember
})
export type ChatMemberUpdated = typeof ChatMemberUpdated.Type

/** A reaction: an emoji, a custom emoji or a paid (star) one; kinds the bot does not know are kept as they came. */
export const ReactionType = Schema.Union(
  Schema.Struct({ type: Schema.Literal("emoji"), emoji: Schema.String }),
  Schema.Struct({ type: Schema.Literal("custom_emoji"), custom_emoji_id: Schema.String }),
  Schema.Struct({ type: Schema.String }, Schema.Record({ key: Schema.String, value: Schema.Unknown }))
)
export type ReactionType = typeof ReactionType.Type

/** A user changed their reaction to a message (`message_reaction`, asked for in `allowed_updates`). */
export const MessageReactionUpdated = Schema.Struct({
  chat: Chat,
  message_id: Schema.Number,
  /** Absent when the reaction is anonymous (`actor_chat` then). */
  user: Schema.optional(User),
  actor_chat: Schema.optional(Chat),
  date: Schema.Number,
  old_reaction: Schema.Array(ReactionType),
  new_reaction: Schema.Array(ReactionType)
})
export type MessageReactionUpdated = typeof MessageReactionUpdated.Type

/**
 * A user pressed the Stop button of a draft (Bot API 10.3): the answer shown in draft `draft_id`
 * is to stop. Private chats only; `message_thread_id` is the topic the draft was shown in.
 */
export const MessageGenerationStopped = Schema.Struct({
  chat: Chat,
  message_thread_id: Schema.optional(Schema.Number),
  draft_id: Schema.Number
})
export type MessageGenerationStopped = typeof MessageGenerationStopped.Type

/** A user typing `@bot question` in any chat (`inline_query`): answered with `answerInlineQuery`. */
export const InlineQuery = Schema.Struct({
  id: Schema.String,
  from: User,
  /** Up to 256 characters. */
  query: Schema.String,
  offset: Schema.String,
  chat_type: Schema.optional(Schema.String)
})
export type InlineQuery = typeof InlineQuery.Type

/**
 * An inline result the user sent (`chosen_inline_result`, with inline feedback on in BotFather);
 * `inline_message_id` is there when the result has an inline keyboard, and lets the bot edit it.
 */
export const ChosenInlineResult = Schema.Struct({
  result_id: Schema.String,
  from: User,
  query: Schema.String,
  inline_message_id: Schema.optional(Schema.String)
})
export type ChosenInlineResult = typeof ChosenInlineResult.Type

/** Update kinds the bot does not act on: every object is accepted and the kind is logged and skipped. */
const Opaque = Schema.Record({ key: Schema.String, value: Schema.Unknown })

export const Update = Schema.Struct({
  update_id: TelegramId,
  message: Schema.optional(Message),
  edited_message: Schema.optional(Message),
  channel_post: Schema.optional(Message),
  edited_channel_post: Schema.optional(Message),
  business_connection: Schema.optional(Opaque),
  business_message: Schema.optional(Message),
  edited_business_message: Schema.optional(Message),
  deleted_business_messages: Schema.optional(Opaque),
  message_reaction: Schema.optional(MessageReactionUpdated),
  message_reaction_count: Schema.optional(Opaque),
  inline_query: Schema.optional(InlineQuery),
  chosen_inline_result: Schema.optional(ChosenInlineResult),
  callback_query: Schema.optional(CallbackQuery),
  shipping_query: Schema.optional(Opaque),
  pre_checkout_query: Schema.optional(PreCheckoutQuery),
  purchased_paid_media: Schema.optional(Opaque),
  poll: Schema.optional(Opaque),
  poll_answer: Schema.optional(Opaque),
  my_chat_member: Schema.optional(ChatMemberUpdated),
  chat_member: Schema.optional(ChatMemberUpdated),
  chat_join_request: Schema.optional(Opaque),
  chat_boost: Schema.optional(Opaque),
  removed_chat_boost: Schema.optional(Opaque),
  subscription: Schema.optional(BotSubscriptionUpdated),
  stopped_message_generation: Schema.optional(MessageGenerationStopped),
  /** A user called the bot into a chat it is not a member of (Bot API 10.0, guest mode). */
  guest_message: Schema.optional(Message)
})
export type Update = typeof Update.Type

export const decodeUpdate = Schema.decodeUnknown(Update, { onExcessProperty: "ignore" })
export const decodeUpdateJson = Schema.decodeUnknown(Schema.parseJson(Update), { onExcessProperty: "ignore" })

/** The kind of an update: the name of its one payload field, or "unknown". */
export const updateKind = (update: Update): string => {
  for (const key of Object.keys(update)) {
    if (key !== "update_id") return key
  }
  return "unknown"
}

/** The message an update carries (a message, post, business message or their edits), if any. */
export const updateMessage = (update: Update): Message | undefined =>
  update.message ?? update.edited_message ?? update.channel_post ?? update.edited_channel_post ??
    update.business_message ?? update.edited_business_message

/** The chat an update belongs to, if any; updates of one chat are handled strictly in order. */
export const updateChatId = (update: Update): Option.Option<TelegramId> => {
  const message = updateMessage(update)
  if (message) return Option.some(message.chat.id)
  if (update.callback_query) {
    return update.callback_query.message
      ? Option.some(update.callback_query.message.chat.id)
      : Option.some(update.callback_query.from.id as TelegramId)
  }
  if (update.my_chat_member) return Option.some(update.my_chat_member.chat.id)
  if (update.chat_member) return Option.some(update.chat_member.chat.id)
  // A subscription is the user's: in order with their private chat (whose id is theirs).
  if (update.subscription) return Option.some(update.subscription.user.id)
  if (update.stopped_message_generation) return Option.some(update.stopped_message_generation.chat.id)
  return Option.none()
}

/** The text a user wrote in a message: its text, or the caption of a media message. */
export const messageText = (message: Message): Option.Option<string> =>
  Option.fromNullable(message.text ?? message.caption)

/** Whether a message carries media the bot cannot read (and no caption). */
export const hasMedia = (message: typeof QuotedMessage.Type): boolean => mediaFields.some((field) => message[field] !== undefined)
