/**
 * Where an answer goes: the chat, and within it the forum topic, the business connection it is
 * sent on behalf of, and the message it replies to. Every send and chat action of an update
 * (messages, `typing`, drafts) takes the same destination, derived once from the message it
 * answers, so a feature that routes answers (topics, business chats, group replies) changes
 * `destinationOf` and nothing downstream.
 */
import { isGroupChat, topicOf } from "./Conversation.ts"
import type { Message, TelegramId } from "./Update.ts"

export interface Destination {
  readonly chatId: TelegramId
  /** The forum topic (`message_thread_id`); absent for the General topic and other chats. */
  readonly threadId?: number | undefined
  /** The business connection the answer is sent on behalf of. */
  readonly businessConnectionId?: string | undefined
  /** The message the answer replies to (`reply_parameters`). */
  readonly replyToMessageId?: number | undefined
}

/** A bare chat id or a destination, as the sending services accept them. */
export type To = TelegramId | Destination

export const toDestination = (to: To): Destination => typeof to === "number" ? { chatId: to } : to

/**
 * Where the answer to `message` goes: its chat; the forum topic it was written in (none for the
 * General topic); the business connection it came through; and, in groups, the message itself
 * as the one replied to, so that everyone sees whom the bot answers.
 */
export const destinationOf = (message: Message): Destination => {
  const threadId = topicOf(message)
  return {
    chatId: message.chat.id,
    ...(threadId === undefined ? {} : { threadId }),
    ...(message.business_connection_id === undefined ? {} : { businessConnectionId: message.business_connection_id }),
    ...(isGroupChat(message.chat) ? { replyToMessageId: message.message_id } : {})
  }
}
