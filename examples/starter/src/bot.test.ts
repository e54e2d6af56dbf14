/**
 * The bot's own tests, on the package's testing kit: whole updates through the real dispatcher
 * and pipeline, a scripted model (or the offline one), in-memory stores and Telegram.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { modelRequests, runUpdates, type Script, testBot, textMessage, textsTo, toolResults, turns } from "effect-telegram-dialog-bot/testing"
import { bot, type Order, OrdersMemory } from "./bot.js"

const orders: ReadonlyArray<Order> = [
  { number: "LL-1001", customerId: 42, status: "shipped", arrives: "2026-01-20" },
  { number: "LL-2002", customerId: 77, status: "processing" }
]

/** The bot with its tools, commands and profile; its orders in memory; the model scripted (or offline). */
const testedBot = (model: Script | "offline") =>
  testBot({
    profile: bot.profile!,
    tools: bot.tools!,
    commands: bot.commands!,
    ...(model === "offline" ? { model } : { script: model })
  }).pipe(Layer.provide(OrdersMemory(orders)))

describe("get_order_status", () => {
  it.effect("the model looks the order up and its result reaches the answer", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 42, text: "Where is LL-1001?" })])
      expect(textsTo(sent, 42)).toEqual(["LL-1001 has shipped and arrives on 20 January."])
      const [, afterCall] = yield* modelRequests("think")
      expect(toolResults(afterCall!)).toEqual([
        { callId: "c1", content: { order_number: "LL-1001", status: "shipped", arrives: "2026-01-20" } }
      ])
    }).pipe(Effect.provide(testedBot(turns({
      stage: "orders",
      think: [{ toolCalls: [{ id: "c1", name: "get_order_status", arguments: { order_number: "LL-1001" } }] }, "shipped"],
      synthesize: "LL-1001 has shipped and arrives on 20 January."
    })))))

  it.effect("another customer's order and a malformed number go back to the model as errors", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 42, text: "and LL-2002, 2003?" })])
      const [, afterCall] = yield* modelRequests("think")
      expect(toolResults(afterCall!)).toEqual([
        { callId: "a", content: { error: "no order LL-2002 for this customer" } },
        { callId: "b", content: { error: expect.stringContaining("expected an order number such as LL-1001") } }
      ])
    }).pipe(Effect.provide(testedBot(turns({
      stage: "orders",
      think: [{
        toolCalls: [
          { id: "a", name: "get_order_status", arguments: { order_number: "LL-2002" } },
          { id: "b", name: "get_order_status", arguments: { order_number: "2003" } }
        ]
      }, "none"],
      synthesize: "I couldn't find those."
    })))))

  it.effect("the offline model calls it too, with the number from the text", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 42, text: "Where is my order LL-1001?" })])
      expect(textsTo(sent, 42)[0]).toMatch(/^Order status: order number LL-1001, status shipped, arrives 2026-01-20\./)
    }).pipe(Effect.provide(testedBot("offline"))))
})

describe("/order", () => {
  it.effect("answers without the model, for the customer's own orders only", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([
        textMessage({ userId: 42, text: "/order LL-1001" }),
        textMessage({ userId: 42, text: "/order LL-2002" }),
        textMessage({ userId: 42, text: "/order" })
      ])
      expect(textsTo(sent, 42)).toEqual([
        "Order LL-1001: shipped, arrives 2026-01-20.",
        "I can't find order LL-2002 under your account.",
        "Send the order number after the command, e.g. /order LL-1001."
      ])
      expect(yield* modelRequests()).toEqual([])
    }).pipe(Effect.provide(testedBot({}))))
})
