/**
 * Telegram Business objects, as the Bot API documents them: the connection of a business
 * account to the bot (`business_connection` updates, `getBusinessConnection`) and the
 * messages deleted in a connected chat (`deleted_business_messages`). The `Update` schema
 * keeps these payloads as they came; they are decoded with these schemas where they are used,
 * so that one malformed payload is logged and skipped, never fatal.
 */
import { Schema } from "effect"
import { Chat, TelegramId, User } from "./Update.ts"

/** What the bot may do on the business account (Bot API 9.0 and later); only `can_reply` is read. */
export const BusinessBotRights = Schema.Struct({
  can_reply: Schema.optional(Schema.Boolean)
})

export const BusinessConnection = Schema.Struct({
  id: Schema.String,
  /** The business account's owner. */
  user: User,
  /** The private chat of the bot with the owner. */
  user_chat_id: TelegramId,
  date: Schema.Number,
  /** Before Bot API 9.0: whether the bot may reply in the chats of the account. */
  can_reply: Schema.optional(Schema.Boolean),
  rights: Schema.optional(BusinessBotRights),
  is_enabled: Schema.Boolean
})
export type BusinessConnection = typeof BusinessConnection.Type

/** Whether the bot may send messages on the connection's behalf. */
export const mayReply = (connection: BusinessConnection): boolean =>
  connection.rights?.can_reply === true || connection.can_reply === true

export const BusinessMessagesDeleted = Schema.Struct({
  business_connection_id: Schema.String,
  chat: Chat,
  message_ids: Schema.Array(Schema.Number)
})
export type BusinessMessagesDeleted = typeof BusinessMessagesDeleted.Type

export const decodeBusinessConnection = Schema.decodeUnknown(BusinessConnection, { onExcessProperty: "ignore" })
export const decodeBusinessMessagesDeleted = Schema.decodeUnknown(BusinessMessagesDeleted, { onExcessProperty: "ignore" })
