/**
 * Telegram Stars through the bot: the invoice of `/buy`, the pre-checkout answer (a forged or
 * a reused payload refused), the credit of a payment exactly once per charge id whatever the
 * updates carrying it, and a refund from the admin chat.
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option, Redacted } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { PaymentsConfig, payloadKeyOf } from "../../src/payments/PaymentsConfig.ts"
import { signPayload, verifyPayload } from "../../src/payments/Stars.ts"
import { modelRequests, runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { TelegramRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { anna as user, paid, preCheckout } from "./paymentUpdates.ts"

const secret = Redacted.make("test-secret")
const callsOf = (method: string) =>
  Effect.map(Effect.flatMap(TelegramRecorder, (r) => r.calls), (calls) => calls.filter((c) => c.method === method).map((c) => c.params))

const bot = testBot({
  script: {},
  payments: { pack: Option.some({ stars: 50, tokens: 100_000 }), payloadSecret: secret },
  handoff: { adminChatId: Option.some(-100500) }
})

describe("payload", () => {
  it("names the user and the pack and cannot be forged", () => {
    const payload = signPayload(secret, 7, { stars: 50, tokens: 100_000 }, "nonce1")
    expect(verifyPayload(secret, payload)).toEqual(Option.some({ userId: 7, pack: { stars: 50, tokens: 100_000 }, nonce: "nonce1" }))
    expect(verifyPayload(secret, payload.replace(".100000.", ".900000."))).toEqual(Option.none())
    expect(verifyPayload(Redacted.make("other"), payload)).toEqual(Option.none())
    expect(payload.length).toBeLessThanOrEqual(128)
  })
})

/** The payload key a process reads from `env`, as `PaymentsConfig.fromEnv` does. */
const keyFrom = (env: Record<string, string>) =>
  Effect.map(
    Effect.withConfigProvider(PaymentsConfig.config, ConfigProvider.fromMap(new Map(Object.entries(env)))),
    (config) => config.payloadSecret
  )

describe("the payload key", () => {
  it.effect("unset, it is derived from the bot token: two processes with one token sign alike, another token refuses", () =>
    Effect.gen(function*() {
      const pack = { stars: 50, tokens: 100_000 }
      const first = yield* keyFrom({ TELEGRAM_BOT_TOKEN: "123456:AAH-token" })
      const second = yield* keyFrom({ TELEGRAM_BOT_TOKEN: "123456:AAH-token" })
      const otherToken = yield* keyFrom({ TELEGRAM_BOT_TOKEN: "123456:AAH-other" })
      const payload = signPayload(first, 7, pack, "nonce1")
      expect(signPayload(second, 7, pack, "nonce1")).toBe(payload)
      expect(Option.isSome(verifyPayload(second, payload))).toBe(true)
      expect(verifyPayload(otherToken, payload)).toEqual(Option.none())
      // The key is not the token itself.
      expect(verifyPayload(Redacted.make("123456:AAH-token"), payload)).toEqual(Option.none())
    }))

  it.effect("STARS_PAYLOAD_SECRET, when set, is the key whatever the token; set empty, it is unset", () =>
    Effect.gen(function*() {
      const key = yield* keyFrom({ TELEGRAM_BOT_TOKEN: "123456:AAH-token", STARS_PAYLOAD_SECRET: "shared-secret" })
      expect(Redacted.value(key)).toBe("shared-secret")
      const empty = yield* keyFrom({ TELEGRAM_BOT_TOKEN: "123456:AAH-token", STARS_PAYLOAD_SECRET: "" })
      expect(Redacted.value(empty)).toBe(Redacted.value(payloadKeyOf(Redacted.make("123456:AAH-token"))))
    }))

  it.effect("without a usable token (the local chat), a key made at start: the settings still read", () =>
    Effect.gen(function*() {
      const none = yield* keyFrom({})
      const malformed = yield* keyFrom({ TELEGRAM_BOT_TOKEN: "not a token" })
      expect(Redacted.value(malformed)).toBe(Redacted.value(none))
      expect(Redacted.value(none)).toMatch(/^[0-9a-f]{64}$/)
    }))
})

describe("Telegram Stars", () => {
  it.effect("/buy sends an invoice in XTR with one price, an empty provider token and a signed payload", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 7, text: "/buy" })])
      expect(textsTo(sent, 7)).toEqual(["Here is your invoice."])
      const [invoice] = yield* callsOf("sendInvoice")
      expect(invoice).toMatchObject({ chat_id: 7, currency: "XTR", provider_token: "", prices: [{ label: "Tokens", amount: 50 }] })
      expect(Option.map(verifyPayload(secret, String(invoice?.["payload"])), (p) => [p.userId, p.pack])).toEqual(
        Option.some([7, { stars: 50, tokens: 100_000 }])
      )
    }).pipe(Effect.provide(bot)))

  it.effect("pre-checkout: ok for a valid payload; a forged one, a wrong price, another user's or a paid one are refused", () =>
    Effect.gen(function*() {
      const payload = signPayload(secret, 7, { stars: 50, tokens: 100_000 })
      const forged = signPayload(Redacted.make("guess"), 7, { stars: 1, tokens: 100_000 })
      yield* runUpdates([
        preCheckout(payload),
        preCheckout(forged, 1),
        preCheckout(payload, 5),
        preCheckout(payload, 50, { ...user, id: 8 })
      ])
      yield* runUpdates([paid(payload, "charge-1")])
      yield* runUpdates([preCheckout(payload)])
      const answers = yield* callsOf("answerPreCheckoutQuery")
      expect(answers.map((a) => [a["ok"], a["error_message"]])).toEqual([
        [true, undefined],
        [false, "This invoice is not valid."],
        [false, "The price of this invoice is not right."],
        [false, "This invoice was made for someone else."],
        [false, "This invoice was paid already: send /buy for a new one."]
      ])
    }).pipe(Effect.provide(bot)))

  it.effect("one charge through two update ids credits once; the user is thanked", () =>
    Effect.gen(function*() {
      const payload = signPayload(secret, 7, { stars: 50, tokens: 100_000 })
      const sent = yield* runUpdates([paid(payload, "charge-2"), paid(payload, "charge-2")])
      expect(textsTo(sent, 7)[0]).toBe("Thank you! 100,000 tokens were added to your balance.")
      const totals = yield* (yield* UsageLedger).userTotals(7 as TelegramId, 0, 0)
      expect(totals.credited).toBe(100_000)
    }).pipe(Effect.provide(bot)))

  it.effect("over budget with Stars on: the notice says how to get more and the invoice comes with it; no model call", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 7, text: "hello" })])
      const calls = (yield* modelRequests()).length
      const refused = yield* runUpdates([textMessage({ userId: 7, text: "hello again" })])
      expect(textsTo(refused, 7)).toEqual([
        "You have used your free messages for now. They renew on 1970-01-02 00:00 UTC. You can also buy more with Telegram Stars: see the invoice below, or send /buy."
      ])
      expect((yield* callsOf("sendInvoice")).map((p) => p["chat_id"])).toEqual([7])
      expect((yield* modelRequests()).length).toBe(calls)
    }).pipe(Effect.provide(testBot({
      script: { classify: ["general"], think: ["ok"], synthesize: ["Hi!"] },
      usage: { tokensPerDay: 40 },
      payments: { pack: Option.some({ stars: 50, tokens: 100_000 }), payloadSecret: secret }
    }))))

  it.effect("/refund in the admin chat calls refundStarPayment and takes back what is left; elsewhere it is refused", () =>
    Effect.gen(function*() {
      const payload = signPayload(secret, 7, { stars: 50, tokens: 100_000 })
      yield* runUpdates([paid(payload, "charge-3")])
      const elsewhere = yield* runUpdates([textMessage({ userId: 7, text: "/refund 7 charge-3" })])
      expect(textsTo(elsewhere, 7)).toEqual(["/refund is accepted in the admin chat only."])
      const done = yield* runUpdates([textMessage({ userId: 1, chatId: -100500, text: "/refund 7 charge-3" })])
      expect(textsTo(done, -100500)).toEqual(["Refunded charge-3 to 7; 100,000 tokens taken back."])
      expect(yield* callsOf("refundStarPayment")).toEqual([{ user_id: 7, telegram_payment_charge_id: "charge-3" }])
      expect((yield* (yield* UsageLedger).userTotals(7 as TelegramId, 0, 0)).credited).toBe(0)
    }).pipe(Effect.provide(bot)))
})
