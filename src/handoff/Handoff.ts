/**
 * Human handoff: a colleague takes a customer's conversation over.
 *
 * With `HANDOFF_CHAT_ID` (a forum supergroup where the bot is an admin allowed to manage
 * topics) a handoff opens a topic per customer there (`createForumTopic`), whose first message
 * is a short summary of the client and their last messages with a "Back to bot" button. The
 * handoff is kept in the store (`HandoffRecords`) until an operator gives the chat back, so it
 * survives restarts; starting it again for the same conversation (a re-run of the update after
 * a crash, or a second request) reuses the topic. What happens while a conversation is handed
 * off (the customer's messages copied into the topic, operators' messages sent to the
 * customer, `/done`) is routed in `src/dialog/HandoffRouting.ts`.
 *
 * A guest or inline turn is answered in a chat the bot cannot send messages to: its handoff is
 * that of the user's private chat with the bot, where the colleague's messages go (the start
 * says so: `privateChat`).
 *
 * Without `HANDOFF_CHAT_ID`, or when the topic cannot be opened (the chat is not a forum, the
 * bot is not an admin, Telegram does not answer), a handoff is what it always was: recorded on
 * the client and announced in `ADMIN_CHAT_ID` (or, after a refused topic, in the handoff chat
 * itself) with the profile's `handoffNotice`.
 */
import { Clock, Context, Effect, Layer, Metric, Option } from "effect"
import { withTags } from "../observability/Metrics.ts"
import { isCalledConversation } from "../domain/Caller.ts"
import { toConversation } from "../domain/Conversation.ts"
import type { Destination } from "../domain/Destination.ts"
import type { Client, NewClient } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"
import { withSpan } from "../observability/span.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { ConversationState } from "../store/ConversationState.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { SendConfig } from "../telegram/SendConfig.ts"
import { type CallOptions, TelegramApi } from "../telegram/TelegramApi.ts"
import { HandoffConfig } from "./HandoffConfig.ts"
import { conversationOfRecord, type HandoffRecord, type HandoffRecords, makeHandoffRecords, topicDestination } from "./HandoffRecords.ts"
import { backButton, summaryText, topicName } from "./summary.ts"

/**
 * Handoff events, by `event`: `started` (a topic opened), `reused` (a topic already open),
 * `notice` (no handoff chat), `fallback` (no topic could be opened), `to_customer` and
 * `to_topic` (messages routed), `not_delivered`, `ended`.
 */
export const handoffEvents = Metric.counter("bot_handoffs_total", {
  description: "Human handoff events: topics opened or reused, notices, fallbacks, messages routed, handoffs ended",
  incremental: true
})

/** Counts one handoff event. */
export const countHandoff = (event: string): Effect.Effect<void> => Metric.increment(withTags(handoffEvents, { event }))

/** What starts a handoff: whose conversation, who asked and why. */
export interface HandoffRequest {
  /** The customer's conversation: its chat, forum topic and business connection (a reply-to is ignored). */
  readonly conversation: Destination
  readonly userId: TelegramId
  /** The user as Telegram describes them, to create the client when the bot has not met them yet. */
  readonly user?: NewClient | undefined
  readonly reason: string
  /** The dialog stage the conversation was in, when known. */
  readonly stage?: string | undefined
  /** The update the request came with. */
  readonly updateId: TelegramId
}

/** How a handoff started: a topic (new, or the one already open), or a notice only. */
export type HandoffStart =
  | {
    readonly _tag: "Topic"
    readonly topicId: number
    readonly reused: boolean
    /** The request came from a guest or inline turn: the topic is that of the user's private chat with the bot. */
    readonly privateChat: boolean
  }
  | { readonly _tag: "Notice"; readonly notified: boolean }

export interface HandoffService {
  /** The operators' forum supergroup (`HANDOFF_CHAT_ID`), when set. */
  readonly chatId: Option.Option<TelegramId>
  /** Starts a handoff of the request's conversation (see the module's description); fails only on the store. */
  readonly start: (request: HandoffRequest) => Effect.Effect<HandoffStart, StoreError>
  /** The handoffs in the store. */
  readonly records: HandoffRecords
}

export class Handoff extends Context.Tag("dialog-bot/Handoff")<Handoff, HandoffService>() {}

/** The part of a request's destination that names the conversation. */
const conversationFields = (to: Destination) => ({
  chatId: to.chatId,
  ...(to.threadId === undefined ? {} : { threadId: to.threadId }),
  ...(to.businessConnectionId === undefined ? {} : { businessConnectionId: to.businessConnectionId })
})

export const makeHandoff = Effect.gen(function*() {
  const config = yield* HandoffConfig
  const profile = yield* BotProfile
  const clients = yield* ClientStore
  const history = yield* HistoryStore
  const api = yield* TelegramApi
  const records = makeHandoffRecords(yield* ConversationState)
  // The retry policy of sending (429, 5xx, connection errors), as the messenger's.
  const retried: CallOptions = { retry: yield* SendConfig }
  const handoffChatId = Option.map(config.handoffChatId, (id) => id as TelegramId)

  /** The notice-only handoff: `handoffNotice` to the admin chat, else to `fallbackChat` (a handoff chat without topics). */
  const notice = (client: Client, reason: string, fallbackChat: Option.Option<TelegramId>) =>
    Effect.gen(function*() {
      const target = Option.orElse(Option.map(config.adminChatId, (id) => id as TelegramId), () => fallbackChat)
      if (Option.isNone(target)) return { _tag: "Notice", notified: false } as const
      const text = profile.texts.handoffNotice
        .replaceAll("{name}", client.profile.name ?? client.firstName)
        .replaceAll("{id}", String(client.id))
        .replaceAll("{reason}", reason)
      const notified = yield* api.sendMessage({ chatId: target.value, text }, retried).pipe(
        Effect.as(true),
        Effect.catchAll((e) => Effect.as(Effect.logWarning(`handoff notice not sent: ${e.message}`), false))
      )
      return { _tag: "Notice", notified } as const
    })

  /** The topic's first message, once: a failure is logged and the next start of the same handoff tries again. */
  const summarize = (record: HandoffRecord, client: Client, stage: string | undefined) =>
    Effect.gen(function*() {
      if (record.summarySent) return
      const past = config.summaryMessages === 0 ? [] : yield* history.lastN(conversationOfRecord(record), config.summaryMessages)
      const text = summaryText(profile.texts.handoffSummary, { client, reason: record.reason, stage, history: past })
      const sent = yield* api.sendMessage({
        ...topicDestination(record),
        text,
        inlineKeyboard: [[backButton(profile.texts.handoffBack)]]
      }, retried).pipe(
        Effect.as(true),
        Effect.catchAll((e) => Effect.as(Effect.logWarning(`handoff summary not sent to topic ${record.topicId}: ${e.message}`), false))
      )
      if (sent) yield* records.put({ ...record, summarySent: true })
    })

  const start = (request: HandoffRequest) =>
    Effect.gen(function*() {
      const privateChat = isCalledConversation(request.conversation)
      const conversation: Destination = privateChat ? { chatId: request.userId } : request.conversation
      if (request.user !== undefined) yield* clients.getOrCreate(request.user)
      const client = yield* clients.requestHandoff(request.userId, request.reason)
      if (Option.isNone(handoffChatId)) return yield* Effect.zipLeft(notice(client, request.reason, Option.none()), countHandoff("notice"))
      const chatId = handoffChatId.value
      const existing = yield* records.get(toConversation(conversationFields(conversation)))
      if (Option.isSome(existing) && existing.value.handoffChatId === chatId) {
        // Written again: a crash may have come between the record and its topic key.
        yield* records.put(existing.value)
        yield* summarize(existing.value, client, request.stage)
        yield* countHandoff("reused")
        return { _tag: "Topic", topicId: existing.value.topicId, reused: true, privateChat } as const
      }
      const since = yield* Clock.currentTimeMillis
      const recordOf = (topicId: number): HandoffRecord => ({
        ...conversationFields(conversation),
        userId: request.userId,
        handoffChatId: chatId,
        topicId,
        since,
        reason: request.reason,
        updateId: request.updateId,
        summarySent: false
      })
      // Recorded before anything else is sent, and not interrupted between the topic's answer and
      // its record (a tool's timeout): a re-run of this update, or another start, reuses the topic.
      const opened = yield* Effect.uninterruptibleMask((restore) =>
        Effect.either(restore(api.createForumTopic(chatId, topicName(profile.texts.handoffTopic, client), retried))).pipe(
          Effect.tap((topic) => (topic._tag === "Left" ? Effect.void : records.put(recordOf(topic.right.message_thread_id))))
        )
      )
      if (opened._tag === "Left") {
        yield* Effect.logWarning(`handoff topic not opened in chat ${chatId}, sending a notice instead: ${opened.left.message}`)
        yield* countHandoff("fallback")
        return yield* notice(client, request.reason, handoffChatId)
      }
      const record = recordOf(opened.right.message_thread_id)
      yield* Effect.logInfo(`conversation of chat ${record.chatId} handed off to topic ${record.topicId} of chat ${chatId}`)
      yield* summarize(record, client, request.stage)
      yield* countHandoff("started")
      return { _tag: "Topic", topicId: record.topicId, reused: false, privateChat } as const
    }).pipe(withSpan("handoff.start", { attributes: { chat_id: request.conversation.chatId } }))

  return Handoff.of({ chatId: handoffChatId, start, records })
})

/** Handoffs over the settings (`HandoffConfig`, `SendConfig`), profile, stores and Bot API of the context. */
export const HandoffLive = Layer.effect(Handoff, makeHandoff)
