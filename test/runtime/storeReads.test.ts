/**
 * What a new update's turn does not read: a stored reply (only a re-run can have one) and the
 * client again before the reply (the turn read them at its start). Both reads still happen where
 * they can find something: `test/dialog/streaming.test.ts` re-runs an update and resends its
 * stored reply; `test/telegram/Messenger.test.ts` refuses to send to a user who blocked the bot.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { mapStores } from "../../src/store/Instrumented.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { runUpdates, StoresMemory, testBot, textMessage } from "../../src/testing/index.ts"
import type { TelegramId } from "../../src/domain/Update.ts"

/** The memory stores, each call counted as `store.operation`. */
const counted = () => {
  const calls = new Map<string, number>()
  const stores = Layer.map(StoresMemory, (context) =>
    mapStores(context, (store) => (operation, effect) =>
      Effect.zipRight(Effect.sync(() => calls.set(`${store}.${operation}`, (calls.get(`${store}.${operation}`) ?? 0) + 1)), effect)))
  return { calls, stores }
}

const script = { classify: ["general"], think: ["notes"], synthesize: ["Hello!"] }

describe("store reads of a new update's turn", () => {
  const first = counted()
  it.effect("reads the client once and looks for no stored reply; the answer goes out", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 5, text: "hi" })])
      expect(sent.map((m) => m.text)).toEqual(["Hello!"])
      expect(first.calls.get("clients.getOrCreate")).toBe(1)
      expect(first.calls.get("clients.get") ?? 0).toBe(0)
      expect(first.calls.get("history.replyFor") ?? 0).toBe(0)
      expect(first.calls.get("history.append")).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(testBot({ script, stores: first.stores }))))

  const blocked = counted()
  it.effect("a user who blocked the bot and writes again is unblocked and answered", () =>
    Effect.gen(function*() {
      const clients = yield* ClientStore
      yield* clients.getOrCreate({ id: 6 as TelegramId, firstName: "Ann" })
      yield* clients.setBlocked(6 as TelegramId, true)
      const sent = yield* runUpdates([textMessage({ userId: 6, text: "hi again" })])
      expect(sent.map((m) => m.text)).toEqual(["Hello!"])
      const client = yield* clients.get(6 as TelegramId)
      expect(client._tag === "Some" && client.value.blocked).toBe(false)
    }).pipe(Effect.provide(testBot({ script, stores: blocked.stores }))))
})
