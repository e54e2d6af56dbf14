/**
 * Where handoffs are kept: in `ConversationState` (so in every store, memory, SQLite,
 * PostgreSQL and YDB, with no table of their own), under two keys per handoff:
 *
 * - `handoff:<conversation key>`: the handoff of a customer's conversation (the record);
 * - `handoff-topic:<handoff chat id>:<thread id>`: the customer's conversation key of a topic,
 *   to route what operators write there.
 *
 * The record is written first and removed first, and a topic is routed only while the record
 * of its conversation names it: a topic key left by a crash between two writes routes nothing,
 * and a record without its topic key yet is written again by the re-run that reuses it.
 */
import { Effect, Option, Schema } from "effect"
import { conversationKey, type Conversation } from "../domain/Conversation.ts"
import type { Destination } from "../domain/Destination.ts"
import type { StoreError } from "../domain/errors.ts"
import { TelegramId } from "../domain/Update.ts"
import type { ConversationStateService } from "../store/ConversationState.ts"

/** A customer's conversation in the hands of a colleague. */
export const HandoffRecord = Schema.Struct({
  /** The customer's conversation: its chat and forum topic, as keyed by `conversationKey`. */
  chatId: TelegramId,
  threadId: Schema.optional(Schema.Number),
  /** The business connection the customer's conversation runs on (answers are sent on it). */
  businessConnectionId: Schema.optional(Schema.String),
  /** Who asked (the customer, or in a group the member who asked). */
  userId: TelegramId,
  /** The operators' chat and the topic opened there. */
  handoffChatId: TelegramId,
  topicId: Schema.Number,
  /** When the handoff started (epoch millis) and why. */
  since: Schema.Number,
  reason: Schema.String,
  /** The update that started it: a re-run of it after a crash reuses the topic. */
  updateId: TelegramId,
  /** Whether the topic's first message (the summary and the button) is out. */
  summarySent: Schema.Boolean
})
export type HandoffRecord = typeof HandoffRecord.Type

const StoredRecord = Schema.parseJson(HandoffRecord)
const StoredTopic = Schema.parseJson(Schema.Struct({ conversation: Schema.String }))

/** The customer's conversation of a handoff. */
export const conversationOfRecord = (record: HandoffRecord): Conversation =>
  record.threadId === undefined ? { chatId: record.chatId } : { chatId: record.chatId, threadId: record.threadId }

/** Where what operators write goes: the customer's chat, topic and business connection. */
export const customerDestination = (record: HandoffRecord): Destination => ({
  chatId: record.chatId,
  ...(record.threadId === undefined ? {} : { threadId: record.threadId }),
  ...(record.businessConnectionId === undefined ? {} : { businessConnectionId: record.businessConnectionId })
})

/** Where the customer's messages are copied: the topic in the handoff chat. */
export const topicDestination = (record: HandoffRecord): Destination => ({ chatId: record.handoffChatId, threadId: record.topicId })

const recordKey = (conversation: Conversation) => `handoff:${conversationKey(conversation)}`
const topicKey = (handoffChatId: TelegramId, topicId: number) => `handoff-topic:${handoffChatId}:${topicId}`

export interface HandoffRecords {
  /** The handoff of a conversation, if it is handed off. */
  readonly get: (conversation: Conversation) => Effect.Effect<Option.Option<HandoffRecord>, StoreError>
  /** The handoff a topic of the handoff chat belongs to, if any. */
  readonly byTopic: (handoffChatId: TelegramId, topicId: number) => Effect.Effect<Option.Option<HandoffRecord>, StoreError>
  /** Stores a handoff (the record, then its topic's key); writing it again replaces it. */
  readonly put: (record: HandoffRecord) => Effect.Effect<void, StoreError>
  /** Ends a handoff: the record, then its topic's key. */
  readonly remove: (record: HandoffRecord) => Effect.Effect<void, StoreError>
}

export const makeHandoffRecords = (state: ConversationStateService): HandoffRecords => {
  const get = (conversation: Conversation) =>
    Effect.map(state.get(recordKey(conversation)), Option.flatMap(Schema.decodeUnknownOption(StoredRecord)))

  const byTopic = (handoffChatId: TelegramId, topicId: number) =>
    Effect.gen(function*() {
      const topic = Option.flatMap(yield* state.get(topicKey(handoffChatId, topicId)), Schema.decodeUnknownOption(StoredTopic))
      if (Option.isNone(topic)) return Option.none<HandoffRecord>()
      const record = Option.flatMap(
        yield* state.get(`handoff:${topic.value.conversation}`),
        Schema.decodeUnknownOption(StoredRecord)
      )
      // A topic whose conversation was given back (or handed off again to another topic) is not routed.
      return Option.filter(record, (r) => r.handoffChatId === handoffChatId && r.topicId === topicId)
    })

  const put = (record: HandoffRecord) =>
    Effect.zipRight(
      state.put(recordKey(conversationOfRecord(record)), Schema.encodeSync(StoredRecord)(record)),
      state.put(
        topicKey(record.handoffChatId, record.topicId),
        Schema.encodeSync(StoredTopic)({ conversation: conversationKey(conversationOfRecord(record)) })
      )
    )

  const remove = (record: HandoffRecord) =>
    Effect.zipRight(
      state.remove(recordKey(conversationOfRecord(record))),
      state.remove(topicKey(record.handoffChatId, record.topicId))
    ).pipe(Effect.asVoid)

  return { get, byTopic, put, remove }
}
