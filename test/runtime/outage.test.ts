/**
 * A store outage (or a Bot API answering 502) of a few seconds under a small load, through the
 * real webhook server: every update gets its real answer (no apology), each chat's answers in
 * order, none twice; the deliveries refused meanwhile are answered 500 and counted by status,
 * not as received. The full-size scenarios are in the fault suite (test/faults).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import type { FakeCall } from "../support/FakeBotApi.ts"
import { perUser, underLoad, users } from "../support/underLoad.ts"
import { makeOutage, withOutage } from "../faults/support.ts"

describe("a dependency outage under load", () => {
  it.scopedLive("the store: every update gets its real answer, in order, none twice; refused deliveries are counted by status", () =>
    Effect.gen(function*() {
      // The store refuses every call for 3 s once a third of the updates are acknowledged.
      const outage = makeOutage()
      const { acks, delta } = yield* underLoad({ stores: withOutage(StoresMemory, outage), onThird: () => outage.open(0, 3_000) })
      expect(outage.refused()).toBeGreaterThan(0)
      const refusedDeliveries = [...acks.values()].reduce((sum, r) => sum + r.attempts - 1, 0)
      expect(refusedDeliveries).toBeGreaterThan(0)
      expect(delta("responses", '{code="200"}')).toBe(users * perUser)
      expect(delta("responses", '{code="500"}')).toBe(refusedDeliveries)
      // Received once each: the refused deliveries are not counted.
      expect(delta("received", '{kind="message"}')).toBe(users * perUser)
    }), 120_000)

  it.scopedLive("the Bot API answering 502 for 2 s: every update gets its real answer, in order, none twice", () =>
    Effect.gen(function*() {
      let failedSends = 0
      let downUntil = 0
      yield* underLoad({
        stores: StoresMemory,
        faultPlan: (call: FakeCall) => {
          if (call.method !== "sendMessage") return undefined
          // The first send opens the outage window.
          if (downUntil === 0) downUntil = call.at + 2_000
          if (call.at >= downUntil) return undefined
          failedSends++
          return { error: 502, description: "Bad Gateway" }
        }
      })
      expect(failedSends).toBeGreaterThan(3)
    }), 120_000)
})
