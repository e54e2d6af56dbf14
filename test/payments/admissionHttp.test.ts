/**
 * Budgets, access and Telegram Stars over real HTTP: the real Bot API client against the fake
 * Bot API (which records every call), the real OpenAI client against the fake endpoint (which
 * counts the model calls). Every model call reports 15 tokens, so with a daily allowance of 10
 * the first turn crosses 80 % (one warning) and the next message is over budget.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { signPayload } from "../../src/payments/Stars.ts"
import { textMessage } from "../../src/testing/index.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { conversationBot, type ConversationBotOptions, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, type FakeCall, type FakeReply, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { type FakeOpenAi, makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"
import { paid, preCheckout } from "./paymentUpdates.ts"

const adminChat = -100500 as TelegramId
const secret = Redacted.make("stars-test-secret")
const pack = { stars: 50, tokens: 100_000 }
/** A member of the admin chat (getChatMember says so); every other user has left it or never joined. */
const admin = 9
const exempt = 8

const overBudget = "You have used your free messages for now. They renew on"
const buyHint = "You can also buy more with Telegram Stars: see the invoice below, or send /buy."
const warning = "Heads-up: you have used 80 % of your free allowance."
const notAllowed = "Sorry, this bot is private: it answers only the people it was set up for."

/** What the Bot API answers to the payment methods and getChatMember, as Telegram shapes them. */
const answers = (call: FakeCall): FakeReply | undefined => {
  switch (call.method) {
    case "getChatMember": {
      const userId = Number(call.params["user_id"])
      const user = { id: userId, is_bot: false, first_name: userId === admin ? "Ops" : "Anna" }
      return { result: userId === admin ? { status: "member", user } : { status: "left", user } }
    }
    case "sendInvoice":
      return {
        result: {
          message_id: 7001,
          date: 1_764_300_000,
          chat: { id: call.params["chat_id"], type: "private", first_name: "Anna" },
          invoice: {
            title: call.params["title"],
            description: call.params["description"],
            start_parameter: "",
            currency: call.params["currency"],
            total_amount: pack.stars
          }
        }
      }
    case "answerPreCheckoutQuery":
      return { result: true }
    default:
      return undefined
  }
}

interface Http {
  readonly telegram: FakeBotApi
  readonly model: FakeOpenAi
}

/** Runs `body` with the whole bot over a fresh fake Bot API and a fresh fake model endpoint. */
const withBot = <A, E, R>(options: ConversationBotOptions, body: (http: Http) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const telegram = yield* makeFakeBotApi({ faultPlan: answers })
    const model = yield* makeFakeOpenAi({ fallback: () => ({ text: "Answer.", usage: { prompt: 10, completion: 5 } }) })
    const context = yield* Layer.build(conversationBot(telegram, { model: openAiLayerFor(model), ...options }))
    return yield* body({ telegram, model }).pipe(Effect.provide(context))
  })

const modelCalls = (http: Http) => Effect.map(http.model.requests, (requests) => requests.length)

const say = (userId: number, text = "How much is delivery?") => textMessage({ userId, text })

const budgeted: ConversationBotOptions = {
  usage: { tokensPerDay: 10, exemptUsers: [exempt] },
  handoff: { adminChatId: Option.some(adminChat) }
}

describe("budgets over HTTP", () => {
  it.scoped("over budget: no model call, the overBudget text with the invoice (Stars on); the 80 % warning once", () =>
    withBot({ ...budgeted, payments: { pack: Option.some(pack), payloadSecret: secret } }, (http) =>
      Effect.gen(function*() {
        yield* deliver(say(7))
        const answered = yield* modelCalls(http)
        expect(answered).toBeGreaterThan(0)
        expect(yield* http.telegram.sentTexts(7)).toEqual(["Answer.", expect.stringContaining(warning)])

        yield* deliver(say(7), say(7, "and now?"))
        expect(yield* modelCalls(http)).toBe(answered)
        const refused = (yield* http.telegram.sentTexts(7)).slice(2)
        expect(refused).toHaveLength(2)
        for (const text of refused) {
          expect(text.startsWith(overBudget)).toBe(true)
          expect(text.endsWith(buyHint)).toBe(true)
        }
        const invoices = yield* http.telegram.calls("sendInvoice")
        expect(invoices.map((c) => [c.params["chat_id"], c.params["currency"], c.params["provider_token"], c.params["prices"]]))
          .toEqual([7, 7].map((chat) => [chat, "XTR", "", [{ label: "Tokens", amount: 50 }]]))
        expect((yield* http.telegram.sentTexts(7)).filter((t) => t.includes(warning))).toHaveLength(1)
      })))

  it.scoped("without Stars the notice has no invoice and no buy hint", () =>
    withBot(budgeted, (http) =>
      Effect.gen(function*() {
        yield* deliver(say(7), say(7))
        const [, , notice] = yield* http.telegram.sentTexts(7)
        expect(notice?.startsWith(overBudget)).toBe(true)
        expect(notice).not.toContain(buyHint)
        expect(yield* http.telegram.calls("sendInvoice")).toEqual([])
      })))

  it.scoped("BUDGET_EXEMPT_USERS and the members of ADMIN_CHAT_ID have no budget", () =>
    withBot(budgeted, (http) =>
      Effect.gen(function*() {
        for (const user of [exempt, admin]) {
          const before = yield* modelCalls(http)
          yield* deliver(say(user), say(user), say(user))
          expect(yield* modelCalls(http)).toBeGreaterThan(before)
          const texts = yield* http.telegram.sentTexts(user)
          expect(texts.filter((t) => t === "Answer.")).toHaveLength(3)
          expect(texts.filter((t) => t.startsWith(overBudget))).toEqual([])
        }
        // Membership was asked of the Bot API for the admin, in the admin chat.
        const asked = yield* http.telegram.calls("getChatMember")
        expect(asked.map((c) => [c.params["chat_id"], c.params["user_id"]])).toEqual([[adminChat, admin]])
      })))
})

describe("ALLOWED_USERS over HTTP", () => {
  it.scoped("anyone else gets notAllowed once and never reaches the model; an allowed user is answered", () =>
    withBot({ usage: { allowedUsers: Option.some([7]) } }, (http) =>
      Effect.gen(function*() {
        yield* deliver(say(8), say(8, "hello?"), say(8, "anyone?"))
        expect(yield* http.telegram.sentTexts(8)).toEqual([notAllowed])
        expect(yield* modelCalls(http)).toBe(0)

        yield* deliver(say(7))
        expect(yield* http.telegram.sentTexts(7)).toEqual(["Answer."])
        expect(yield* modelCalls(http)).toBeGreaterThan(0)
      })))
})

describe("Telegram Stars over HTTP", () => {
  it.scoped("pre-checkout: a forged and a reused payload are refused with an error_message; one charge in two updates credits once", () =>
    withBot({ payments: { pack: Option.some(pack), payloadSecret: secret } }, (http) =>
      Effect.gen(function*() {
        const payload = signPayload(secret, 7, pack)
        const forged = signPayload(Redacted.make("a guess"), 7, pack)
        yield* deliver(preCheckout(payload), preCheckout(forged))
        // Telegram sends the same payment in a second update: credited once, thanked each time.
        yield* deliver(paid(payload, "stxCharge1"), paid(payload, "stxCharge1"))
        yield* deliver(preCheckout(payload))

        const answered = yield* http.telegram.calls("answerPreCheckoutQuery")
        expect(answered.map((c) => [c.params["ok"], c.params["error_message"]])).toEqual([
          [true, undefined],
          [false, "This invoice is not valid."],
          [false, "This invoice was paid already: send /buy for a new one."]
        ])
        const totals = yield* (yield* UsageLedger).userTotals(7 as TelegramId, 0, 0)
        expect(totals.credited).toBe(pack.tokens)
        expect(yield* http.telegram.sentTexts(7)).toEqual([
          "Thank you! 100,000 tokens were added to your balance.",
          "Thank you! 100,000 tokens were added to your balance."
        ])
        expect(yield* modelCalls(http)).toBe(0)
      })))
})
