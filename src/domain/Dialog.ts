/**
 * Records the dialog keeps: clients (Telegram users the bot talks to), history messages and
 * inbox entries. These are the shapes every store layer reads and writes.
 */
import { Schema } from "effect"
import { TelegramId } from "./Update.ts"

/** Profile fields a client may tell the bot about themselves; every one is optional. */
export const ClientProfile = Schema.Struct({
  name: Schema.optional(Schema.String),
  phone: Schema.optional(Schema.String),
  email: Schema.optional(Schema.String),
  notes: Schema.optional(Schema.String)
})
export type ClientProfile = typeof ClientProfile.Type

export const Client = Schema.Struct({
  id: TelegramId,
  firstName: Schema.String,
  lastName: Schema.optional(Schema.String),
  username: Schema.optional(Schema.String),
  languageCode: Schema.optional(Schema.String),
  profile: ClientProfile,
  blocked: Schema.Boolean,
  handoffRequestedAt: Schema.optional(Schema.Number),
  handoffReason: Schema.optional(Schema.String),
  createdAt: Schema.Number
})
export type Client = typeof Client.Type

/** What the pipeline knows about a user when it first meets them. */
export interface NewClient {
  readonly id: TelegramId
  readonly firstName: string
  readonly lastName?: string | undefined
  readonly username?: string | undefined
  readonly languageCode?: string | undefined
}

export const Role = Schema.Literal("user", "assistant")
export type Role = typeof Role.Type

/**
 * One message of a dialog. `updateId` is the update it belongs to: the user's text or the
 * bot's reply to it. A store keeps at most one message per (chat, update, role), which makes
 * re-running an update after a crash append nothing twice. `threadId` is the forum topic of
 * the conversation (none for a chat's main conversation); `speaker` names who wrote a user
 * message in a group.
 */
export const HistoryMessage = Schema.Struct({
  chatId: TelegramId,
  threadId: Schema.optional(Schema.Number),
  updateId: TelegramId,
  role: Role,
  text: Schema.String,
  at: Schema.Number,
  speaker: Schema.optional(Schema.String)
})
export type HistoryMessage = typeof HistoryMessage.Type

export const InboxStatus = Schema.Literal("pending", "done", "failed")
export type InboxStatus = typeof InboxStatus.Type

/** An update as received: its raw JSON is kept so that nothing Telegram sent is lost. */
export const InboxEntry = Schema.Struct({
  updateId: TelegramId,
  chatId: Schema.optional(TelegramId),
  payload: Schema.String,
  status: InboxStatus,
  receivedAt: Schema.Number,
  /**
   * How many messages of the update's reply are known to have reached Telegram (0 until the
   * first one is out). A re-run after a crash sends the same messages in the same order and
   * skips this many.
   */
  delivered: Schema.Number,
  finishedAt: Schema.optional(Schema.Number),
  error: Schema.optional(Schema.String)
})
export type InboxEntry = typeof InboxEntry.Type

export type RecordResult = "New" | "Duplicate"
