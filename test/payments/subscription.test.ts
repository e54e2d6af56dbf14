/**
 * The monthly plan's `subscription` update (Bot API 10.2), as Telegram sends it
 * (test/fixtures/subscription.json): decoded, kept per user, shown in `/usage`; `canceled` and
 * `failed` stop a renewal being expected, `active` brings it back. A payment of the plan makes it
 * active until its period ends.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { decodeUpdate, type TelegramId, updateChatId } from "../../src/domain/Update.ts"
import { signPayload } from "../../src/payments/Stars.ts"
import { renewalExpected, subscriptionsOfContext } from "../../src/payments/Subscriptions.ts"
import { modelRequests, runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { paid } from "./paymentUpdates.ts"

const fixtures = JSON.parse(readFileSync(new URL("../fixtures/subscription.json", import.meta.url), "utf8")) as Record<string, unknown>
const update = (name: string) => fixtures[name]

const secret = Redacted.make("plan-secret")
const plan = { stars: 300, tokens: 1_000_000 }
/** 2026-04-10 00:00 UTC: the end of the period paid. */
const periodEnd = Date.UTC(2026, 3, 10) / 1000

/** Telegram's update ids only grow: each update of a scenario gets the next one (a lower id is a delivery seen before). */
let nextId = 731_842_300
const next = (raw: unknown) => ({ ...(raw as Record<string, unknown>), update_id: nextId++ })

const bot = testBot({ script: {}, payments: { subscription: Option.some(plan), payloadSecret: secret } })

/** The last line of the user's `/usage` (the plan's, when there is one). */
const usage = Effect.suspend(() => runUpdates([textMessage({ userId: 7, text: "/usage", updateId: nextId++ })])).pipe(
  Effect.map((sent) => textsTo(sent, 7)[0]?.split("\n").at(-1))
)

describe("the subscription update", () => {
  it.effect("is decoded as Telegram sends it, in order with the user's private chat", () =>
    Effect.gen(function*() {
      const decoded = yield* decodeUpdate(update("canceled"))
      expect(decoded.subscription).toEqual({
        user: { id: 7, is_bot: false, first_name: "Anna", username: "anna_k", language_code: "en" },
        invoice_payload: "v1.7.300.1000000.Qm9vdHN0cmFw.kP3xVt0aQ2mZ8cWnR1yLbE5fHs7uJd9g",
        state: "canceled"
      })
      expect(updateChatId(decoded)).toEqual(Option.some(7))
      // A state Telegram adds later is not fatal.
      const later = yield* decodeUpdate({ update_id: 1, subscription: { ...decoded.subscription, state: "paused" } })
      expect(later.subscription?.state).toBe("paused")
    }))

  it.effect("a plan paid is active until its period ends; canceled and failed expect no renewal; /usage shows it, no model call", () =>
    Effect.gen(function*() {
      const payload = signPayload(secret, 7, plan)
      yield* runUpdates([next(paid(payload, "stxPlan1", 300, { is_recurring: true, is_first_recurring: true, subscription_expiration_date: periodEnd }))])
      expect((yield* (yield* UsageLedger).userTotals(7 as TelegramId, 0, 0)).credited).toBe(1_000_000)
      expect(yield* usage).toBe("Monthly plan: active, renews on 2026-04-10")

      yield* runUpdates([next(update("canceled"))])
      const kept = yield* Effect.flatMap(subscriptionsOfContext, (s) => s.get(7 as TelegramId))
      expect(Option.map(kept, (r) => [r.state, r.expiresAt, renewalExpected(r)])).toEqual(Option.some(["canceled", periodEnd, false]))
      expect(yield* usage).toBe("Monthly plan: canceled, no renewal (paid until 2026-04-10)")

      yield* runUpdates([next(update("active"))])
      expect(yield* usage).toBe("Monthly plan: active, renews on 2026-04-10")

      yield* runUpdates([next(update("failed"))])
      expect(yield* usage).toBe("Monthly plan: the renewal's payment failed, no renewal (send /buy for a new plan)")

      // A renewal that went through after all: credited again, active until the next period's end.
      yield* runUpdates([next(paid(payload, "stxPlan2", 300, { is_recurring: true, subscription_expiration_date: periodEnd + 2_592_000 }))])
      expect((yield* (yield* UsageLedger).userTotals(7 as TelegramId, 0, 0)).credited).toBe(2_000_000)
      expect(yield* usage).toBe("Monthly plan: active, renews on 2026-05-10")
      expect(yield* modelRequests()).toEqual([])
    }).pipe(Effect.provide(bot)))

  it.effect("a user who never had a plan sees no plan line in /usage", () =>
    Effect.gen(function*() {
      expect(yield* usage).toBe("Bought: 0 tokens, 0 left")
    }).pipe(Effect.provide(bot)))
})
