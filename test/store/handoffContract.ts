/**
 * Handoffs in a store (`HandoffRecords` over its `ConversationState`): part of the store
 * contract, so every store layer (memory, SQLite, PostgreSQL, YDB) keeps them the same way.
 */
import { describe, expect } from "@effect/vitest"
import { Effect, Option } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { type HandoffRecord, makeHandoffRecords } from "../../src/handoff/HandoffRecords.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { ConversationState } from "../../src/store/ConversationState.ts"

type Test = <A>(label: string, body: () => Effect.Effect<A, StoreError, Stores>) => void

/** A fresh customer and topic per test (the suite also runs against a shared, persistent database). */
const fresh = () => 2_000_000_000 + Math.floor(Math.random() * 1_000_000_000)

const recordFor = (base: number, topicId: number, extra: Partial<HandoffRecord> = {}): HandoffRecord => ({
  chatId: base as TelegramId,
  userId: base as TelegramId,
  handoffChatId: -1001600000001 as TelegramId,
  topicId,
  since: 1_764_400_000_000,
  reason: "wants a person: 'quotes', ü\u0000",
  updateId: 990002 as TelegramId,
  summarySent: false,
  ...extra
})

export const handoffContract = (test: Test) =>
  describe("HandoffRecords (over ConversationState)", () => {
    test("a handoff is found by its conversation and by its topic until it is removed", () =>
      Effect.gen(function*() {
        const records = makeHandoffRecords(yield* ConversationState)
        const base = fresh()
        const record = recordFor(base, base % 1_000_000, { businessConnectionId: "bc-north" })
        yield* records.put(record)
        expect(yield* records.get({ chatId: record.chatId })).toEqual(Option.some(record))
        expect(yield* records.byTopic(record.handoffChatId, record.topicId)).toEqual(Option.some(record))
        // A forum topic of the same chat is a conversation of its own.
        expect(yield* records.get({ chatId: record.chatId, threadId: 300 })).toEqual(Option.none())
        yield* records.put({ ...record, summarySent: true })
        expect(Option.map(yield* records.get({ chatId: record.chatId }), (r) => r.summarySent)).toEqual(Option.some(true))
        yield* records.remove(record)
        expect(yield* records.get({ chatId: record.chatId })).toEqual(Option.none())
        expect(yield* records.byTopic(record.handoffChatId, record.topicId)).toEqual(Option.none())
      }))

    test("a topic is routed only while its conversation's record names it", () =>
      Effect.gen(function*() {
        const state = yield* ConversationState
        const records = makeHandoffRecords(state)
        const base = fresh()
        const first = recordFor(base, base % 1_000_000, { threadId: 300 })
        yield* records.put(first)
        // Handed off again to another topic: the old topic routes nothing.
        const second = { ...first, topicId: first.topicId + 1 }
        yield* records.put(second)
        expect(yield* records.byTopic(first.handoffChatId, first.topicId)).toEqual(Option.none())
        expect(yield* records.byTopic(second.handoffChatId, second.topicId)).toEqual(Option.some(second))
        // A topic key left without its record (a crash while ending) routes nothing either.
        yield* state.remove(`handoff:chat:${base}:topic:300`)
        expect(yield* records.byTopic(second.handoffChatId, second.topicId)).toEqual(Option.none())
        yield* records.remove(second)
      }))
  })
