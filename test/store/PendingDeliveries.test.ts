import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option, TestClock } from "effect"
import { StoreError } from "../../src/domain/errors.ts"
import { TelegramId } from "../../src/domain/Update.ts"
import { Inbox, type InboxService } from "../../src/store/Inbox.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { withPendingDeliveries } from "../../src/store/PendingDeliveries.ts"

/** The memory inbox whose delivery records fail while `store.down`. */
const blinking = (inbox: InboxService, store: { down: boolean }): InboxService => ({
  ...inbox,
  markDelivered: (updateId, count) =>
    store.down
      ? Effect.fail(new StoreError({ operation: "markDelivered", message: "connection refused", retryable: true }))
      : inbox.markDelivered(updateId, count),
  entry: (updateId) => inbox.entry(updateId),
  pending: (limit?: number) => inbox.pending(limit)
})

const id = TelegramId.make(700)

/** Update `id` recorded in the memory inbox, and that inbox behind the delivery records kept in memory. */
const blinkingInbox = (down: boolean) =>
  Effect.gen(function*() {
    const memory = yield* Inbox
    yield* memory.record({ updateId: id, chatId: TelegramId.make(1), payload: "{}" })
    const store = { down }
    const inbox = yield* withPendingDeliveries(blinking(memory, store))
    return { memory, store, inbox }
  })

describe("delivery records kept in memory", () => {
  it.scoped("a record the store refused is seen by every read at once and written once the store is back", () =>
    Effect.gen(function*() {
      const { memory, store, inbox } = yield* blinkingInbox(true)

      const refused = yield* Effect.exit(inbox.markDelivered(id, 1))
      expect(refused._tag).toBe("Failure")
      // A redelivered update reads its entry: the message it sent is not sent again.
      expect(Option.map(yield* inbox.entry(id), (e) => e.delivered)).toEqual(Option.some(1))
      expect((yield* inbox.pending()).map((e) => e.delivered)).toEqual([1])
      expect(Option.map(yield* memory.entry(id), (e) => e.delivered)).toEqual(Option.some(0))

      // Still down: kept. Back: written by the next flush.
      yield* TestClock.adjust(Duration.seconds(3))
      expect(Option.map(yield* memory.entry(id), (e) => e.delivered)).toEqual(Option.some(0))
      store.down = false
      yield* TestClock.adjust(Duration.seconds(1))
      expect(Option.map(yield* memory.entry(id), (e) => e.delivered)).toEqual(Option.some(1))
    }).pipe(Effect.provide(StoresMemory)))

  it.scoped("a later count is not overwritten by an earlier one", () =>
    Effect.gen(function*() {
      const { memory, store, inbox } = yield* blinkingInbox(true)
      yield* Effect.exit(inbox.markDelivered(id, 2))
      yield* Effect.exit(inbox.markDelivered(id, 1))
      expect(Option.map(yield* inbox.entry(id), (e) => e.delivered)).toEqual(Option.some(2))
      store.down = false
      yield* TestClock.adjust(Duration.seconds(1))
      expect(Option.map(yield* memory.entry(id), (e) => e.delivered)).toEqual(Option.some(2))
    }).pipe(Effect.provide(StoresMemory)))

  it.scoped("no timer runs while nothing waits: one after a refused write, none again once it is written", () =>
    Effect.gen(function*() {
      const { memory, store, inbox } = yield* blinkingInbox(false)
      yield* inbox.markDelivered(id, 1)
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* TestClock.sleeps()).toHaveLength(0)

      store.down = true
      yield* Effect.exit(inbox.markDelivered(id, 2))
      // Still down after a second: written again and refused again, the timer set once more.
      yield* TestClock.adjust(Duration.seconds(1))
      expect(yield* TestClock.sleeps()).toHaveLength(1)
      store.down = false
      yield* TestClock.adjust(Duration.seconds(1))
      expect(Option.map(yield* memory.entry(id), (e) => e.delivered)).toEqual(Option.some(2))
      expect(yield* TestClock.sleeps()).toHaveLength(0)
    }).pipe(Effect.provide(StoresMemory)))
})
