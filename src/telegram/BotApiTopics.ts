/**
 * Parameters and results of the Bot API methods of forum topics, copies and inline keyboards
 * (`createForumTopic`, `closeForumTopic`, `copyMessage`, `reply_markup` of `sendMessage`),
 * defined as methods in `BotApiMethods.ts`.
 */
import { Schema } from "effect"
import type { Destination } from "../domain/Destination.ts"
import type { TelegramId } from "../domain/Update.ts"

/** A button of an inline keyboard that sends a `callback_query` with `callbackData` (1-64 bytes). */
export interface InlineButton {
  readonly text: string
  readonly callbackData: string
}

/** A copy of a message (`copyMessage`): where it goes (chat, topic, reply), and which message of which chat. */
export interface CopyMessage {
  /** The chat, topic and reply of the copy; copyMessage takes no business connection. */
  readonly to: Destination
  readonly fromChatId: TelegramId
  readonly messageId: number
}

/** A forum topic as createForumTopic answers it: its `message_thread_id` is where its messages go. */
export const ForumTopic = Schema.Struct({
  message_thread_id: Schema.Number,
  name: Schema.String,
  icon_color: Schema.optional(Schema.Number)
})
export type ForumTopic = typeof ForumTopic.Type

/** A message identifier, as copyMessage answers it. */
export const MessageId = Schema.Struct({ message_id: Schema.Number })
export type MessageId = typeof MessageId.Type

/** `reply_markup` with an `inline_keyboard`, when there are buttons. */
export const inlineKeyboardMarkup = (rows: ReadonlyArray<ReadonlyArray<InlineButton>> | undefined) =>
  rows === undefined || rows.length === 0
    ? undefined
    : { inline_keyboard: rows.map((row) => row.map((button) => ({ text: button.text, callback_data: button.callbackData }))) }
