/**
 * The Telegram Bot API methods the bot uses. The HTTP layer talks to a Bot API server; the
 * recorder (tests) and the console sink (replay, chat) stand in for it offline.
 */
import { Context, type Effect, Schema } from "effect"
import type { TelegramId, Update } from "../domain/Update.ts"

export const ParseMode = Schema.Literal("MarkdownV2", "HTML", "Markdown")
export type ParseMode = typeof ParseMode.Type

export interface SendMessage {
  readonly chatId: TelegramId
  readonly text: string
  readonly parseMode?: ParseMode | undefined
  readonly replyToMessageId?: number | undefined
}

export const SentMessage = Schema.Struct({
  message_id: Schema.Number,
  date: Schema.Number
})
export type SentMessage = typeof SentMessage.Type

export const BotUser = Schema.Struct({
  id: Schema.Number,
  is_bot: Schema.Boolean,
  first_name: Schema.String,
  username: Schema.optional(Schema.String)
})
export type BotUser = typeof BotUser.Type

export const WebhookInfo = Schema.Struct({
  url: Schema.String,
  has_custom_certificate: Schema.optional(Schema.Boolean),
  pending_update_count: Schema.Number,
  last_error_date: Schema.optional(Schema.Number),
  last_error_message: Schema.optional(Schema.String),
  max_connections: Schema.optional(Schema.Number),
  allowed_updates: Schema.optional(Schema.Array(Schema.String))
})
export type WebhookInfo = typeof WebhookInfo.Type

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

/** The Bot API answered `ok: false`. `retryAfter` and `migrateToChatId` come from `parameters`. */
export class TelegramApiError extends Schema.TaggedError<TelegramApiError>()("TelegramApiError", {
  method: Schema.String,
  errorCode: Schema.Number,
  description: Schema.String,
  retryAfter: Schema.optional(Schema.Number),
  migrateToChatId: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `${this.method}: ${this.errorCode} ${this.description}`
  }
}

/** No usable answer: connection failed, timed out, or the body was not the Bot API's JSON. */
export class TelegramTransportError extends Schema.TaggedError<TelegramTransportError>()("TelegramTransportError", {
  method: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {}

export type TelegramError = TelegramApiError | TelegramTransportError

export interface TelegramApiService {
  readonly getMe: Effect.Effect<BotUser, TelegramError>
  readonly sendMessage: (message: SendMessage) => Effect.Effect<SentMessage, TelegramError>
  readonly sendChatAction: (chatId: TelegramId, action: "typing") => Effect.Effect<void, TelegramError>
  readonly answerCallbackQuery: (id: string, text?: string) => Effect.Effect<void, TelegramError>
  readonly getUpdates: (request: GetUpdates) => Effect.Effect<ReadonlyArray<PolledUpdate>, TelegramError>
  readonly setWebhook: (request: SetWebhook) => Effect.Effect<void, TelegramError>
  readonly deleteWebhook: (dropPendingUpdates: boolean) => Effect.Effect<void, TelegramError>
  readonly getWebhookInfo: Effect.Effect<WebhookInfo, TelegramError>
}

export class TelegramApi extends Context.Tag("dialog-bot/TelegramApi")<TelegramApi, TelegramApiService>() {}
