/**
 * A conversation: what the bot keeps one history of and answers in order. A private chat, a
 * group, or one forum topic of a supergroup (the General topic is the chat itself). The key
 * of a conversation (`conversationKey`) is what the queues, the flood buckets and the stores
 * group updates by; `conversationOf` is the one place that derives it from a message.
 */
import type { Chat, Message, TelegramId } from "./Update.ts"

export interface Conversation {
  readonly chatId: TelegramId
  /** The forum topic (`message_thread_id` of a topic message); absent for the General topic and other chats. */
  readonly threadId?: number | undefined
}

/** A bare chat id (the chat's main conversation) or a conversation, as the stores accept them. */
export type ConversationRef = TelegramId | Conversation

export const toConversation = (ref: ConversationRef): Conversation => typeof ref === "number" ? { chatId: ref } : ref

/** The forum topic of a message: its thread id when it was sent in a topic, none otherwise. */
export const topicOf = (message: Pick<Message, "message_thread_id" | "is_topic_message">): number | undefined =>
  message.is_topic_message === true ? message.message_thread_id : undefined

/** The conversation a message belongs to: its chat, and its forum topic if any. */
export const conversationOf = (message: Message): Conversation => {
  const threadId = topicOf(message)
  return threadId === undefined ? { chatId: message.chat.id } : { chatId: message.chat.id, threadId }
}

/** The key of a conversation: `chat:<id>`, or `chat:<id>:topic:<thread>` for a forum topic. */
export const conversationKey = (ref: ConversationRef): string => {
  const c = toConversation(ref)
  return c.threadId === undefined ? `chat:${c.chatId}` : `chat:${c.chatId}:topic:${c.threadId}`
}

/** Whether a chat is a group or a supergroup (where many people talk and the bot answers when addressed). */
export const isGroupChat = (chat: Pick<Chat, "type">): boolean => chat.type === "group" || chat.type === "supergroup"

/** The `threadId` field of a record of the conversation: present only for a forum topic. */
export const threadField = (conversation: Conversation): { readonly threadId?: number } =>
  conversation.threadId === undefined ? {} : { threadId: conversation.threadId }
