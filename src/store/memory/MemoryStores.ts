/**
 * In-memory stores: the layers tests and demos use. They keep the full store contract
 * (idempotent appends, per-chat ordering, dedupe) so that code tested on them behaves the
 * same on SQLite and YDB.
 */
import { Clock, Duration, Effect, Layer, Option } from "effect"
import { conversationKey } from "../../domain/Conversation.ts"
import type { Client, HistoryMessage, InboxEntry } from "../../domain/Dialog.ts"
import { StoreError } from "../../domain/errors.ts"
import type { TelegramId } from "../../domain/Update.ts"
import { ClientStore } from "../ClientStore.ts"
import { ConversationState } from "../ConversationState.ts"
import { type ConversationSummary, historyOrder, HistoryStore } from "../HistoryStore.ts"
import { deliveredCount, effectiveRetention, Inbox } from "../Inbox.ts"
import { FeedbackStoreMemory } from "./FeedbackStoreMemory.ts"
import { UsageLedgerMemory } from "./UsageLedgerMemory.ts"

const definedOnly = <A extends object>(value: A): Partial<A> =>
  Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<A>

export const makeClientStoreMemory = Effect.sync(() => {
  const clients = new Map<number, Client>()
  const existing = (operation: string, id: TelegramId) =>
    Effect.suspend(() => {
      const client = clients.get(id)
      return client ? Effect.succeed(client) : Effect.fail(new StoreError({ operation, message: `no client ${id}` }))
    })
  return ClientStore.of({
    getOrCreate: (user) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const found = clients.get(user.id)
          if (found) return found
          const client: Client = {
            ...definedOnly({ lastName: user.lastName, username: user.username, languageCode: user.languageCode }),
            id: user.id,
            firstName: user.firstName,
            profile: {},
            blocked: false,
            createdAt: now
          }
          clients.set(user.id, client)
          return client
        })),
    get: (id) => Effect.sync(() => Option.fromNullable(clients.get(id))),
    updateProfile: (id, patch) =>
      Effect.map(existing("updateProfile", id), (client) => {
        const updated: Client = { ...client, profile: { ...client.profile, ...definedOnly(patch) } }
        clients.set(id, updated)
        return updated
      }),
    setBlocked: (id, blocked) =>
      Effect.sync(() => {
        const client = clients.get(id)
        if (client) clients.set(id, { ...client, blocked })
      }),
    requestHandoff: (id, reason) =>
      Effect.flatMap(existing("requestHandoff", id), (client) =>
        Effect.map(Clock.currentTimeMillis, (now) => {
          const updated: Client = { ...client, handoffRequestedAt: now, handoffReason: reason }
          clients.set(id, updated)
          return updated
        }))
  })
})

export const makeHistoryStoreMemory = Effect.sync(() => {
  /** Each conversation's messages, by its key. */
  const conversations = new Map<string, Array<HistoryMessage>>()
  /** The (chat, update, role) of every message stored. */
  const stored = new Set<string>()
  /** Each conversation's running summary, by its key. */
  const summaries = new Map<string, ConversationSummary>()
  const messageId = (m: Pick<HistoryMessage, "chatId" | "updateId" | "role">) => `${m.chatId}/${m.updateId}/${m.role}`
  const keyOf = (message: HistoryMessage) => conversationKey({ chatId: message.chatId, threadId: message.threadId })
  return HistoryStore.of({
    append: (message) =>
      Effect.sync(() => {
        // (chat, update, role) is unique across the chat's conversations, as in the SQL stores.
        const id = messageId(message)
        if (stored.has(id)) return
        stored.add(id)
        const key = keyOf(message)
        const messages = conversations.get(key) ?? []
        // Kept sorted by the key every store orders by: (update_id, user before assistant).
        const at = messages.findIndex((m) => historyOrder(message, m) < 0)
        if (at === -1) messages.push(message)
        else messages.splice(at, 0, message)
        conversations.set(key, messages)
      }),
    lastN: (conversation, limit) =>
      Effect.sync(() =>
        !(limit >= 1)
          ? []
          : (conversations.get(conversationKey(conversation)) ?? []).slice(-Math.floor(Math.min(limit, Number.MAX_SAFE_INTEGER)))
      ),
    replyFor: (chatId, updateId) =>
      Effect.sync(() => {
        for (const messages of conversations.values()) {
          const found = messages.find((m) => m.chatId === chatId && m.updateId === updateId && m.role === "assistant")
          if (found) return Option.some(found.text)
        }
        return Option.none()
      }),
    clear: (conversation) =>
      Effect.sync(() => {
        const key = conversationKey(conversation)
        const messages = conversations.get(key) ?? []
        for (const m of messages) stored.delete(messageId(m))
        const count = messages.length
        conversations.delete(key)
        summaries.delete(key)
        return count
      }),
    summary: (conversation) => Effect.sync(() => Option.fromNullable(summaries.get(conversationKey(conversation)))),
    saveSummary: (conversation, summary) =>
      Effect.sync(() => {
        const key = conversationKey(conversation)
        const known = summaries.get(key)
        if (known !== undefined && known.upTo >= summary.upTo) return false
        summaries.set(key, summary)
        return true
      })
  })
})

export const makeInboxMemory = Effect.sync(() => {
  const entries = new Map<number, InboxEntry>()
  const finish = (updateId: TelegramId, status: "done" | "failed", error?: string) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        const entry = entries.get(updateId)
        if (entry) entries.set(updateId, { ...entry, status, finishedAt: now, ...(error === undefined ? {} : { error }) })
      }))
  const pendingSorted = () =>
    [...entries.values()].filter((e) => e.status === "pending").sort((a, b) => a.updateId - b.updateId)
  return Inbox.of({
    record: (update) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          if (entries.has(update.updateId)) return "Duplicate" as const
          entries.set(update.updateId, {
            updateId: update.updateId,
            ...(update.chatId === undefined ? {} : { chatId: update.chatId }),
            payload: update.payload,
            status: "pending",
            receivedAt: now,
            delivered: 0
          })
          return "New" as const
        })),
    markDone: (updateId, note) => finish(updateId, "done", note),
    markFailed: (updateId, reason) => finish(updateId, "failed", reason),
    markDelivered: (updateId, count) =>
      Effect.flatMap(deliveredCount("markDelivered", count), (delivered) =>
        Effect.sync(() => {
          const entry = entries.get(updateId)
          if (entry) entries.set(updateId, { ...entry, delivered })
        })),
    entry: (updateId) => Effect.sync(() => Option.fromNullable(entries.get(updateId))),
    pending: (limit) =>
      Effect.sync(() =>
        pendingSorted().slice(0, limit === undefined || Number.isNaN(limit) ? Number.MAX_SAFE_INTEGER : Math.max(0, Math.floor(limit)))
      ),
    pendingCount: Effect.sync(() => pendingSorted().length),
    lastUpdateId: Effect.sync(() => {
      let max: number | undefined
      for (const id of entries.keys()) if (max === undefined || id > max) max = id
      return max
    }),
    prune: (retention) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.sync(() => {
          const cutoff = now - Duration.toMillis(effectiveRetention(retention))
          let removed = 0
          for (const [id, entry] of entries) {
            if (entry.status !== "pending" && entry.finishedAt !== undefined && entry.finishedAt < cutoff) {
              entries.delete(id)
              removed++
            }
          }
          return removed
        }))
  })
})

export const makeConversationStateMemory = Effect.sync(() => {
  const entries = new Map<string, string>()
  return ConversationState.of({
    get: (key) => Effect.sync(() => Option.fromNullable(entries.get(key))),
    put: (key, value) => Effect.sync(() => void entries.set(key, value)),
    remove: (key) => Effect.sync(() => entries.delete(key))
  })
})

export const ClientStoreMemory = Layer.effect(ClientStore, makeClientStoreMemory)
export const ConversationStateMemory = Layer.effect(ConversationState, makeConversationStateMemory)
export const HistoryStoreMemory = Layer.effect(HistoryStore, makeHistoryStoreMemory)
export const InboxMemory = Layer.effect(Inbox, makeInboxMemory)

/** All the stores in memory. */
export const StoresMemory = Layer.mergeAll(ClientStoreMemory, HistoryStoreMemory, InboxMemory, ConversationStateMemory, UsageLedgerMemory, FeedbackStoreMemory)
