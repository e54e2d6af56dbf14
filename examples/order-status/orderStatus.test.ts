/**
 * The order-status tool through the real dispatcher and pipeline: the scripted model calls it
 * in the `orders` stage, the test checks what the customer read and what the model was given.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import {
  modelRequests,
  runUpdates,
  type Script,
  stageOf,
  testBot,
  textMessage,
  textsTo,
  toolResults,
  turns
} from "../../src/testing/index.ts"
import { type Order, OrderServiceMemory } from "./OrderService.ts"
import { tools } from "./tools.ts"

const profile = new URL("./profile.json", import.meta.url).pathname

const orders: ReadonlyArray<Order> = [
  { id: "NW-1001", customerId: 42, status: "shipped", carrier: "DHL", trackingNumber: "JD0146000033", estimatedDelivery: "2026-01-20" },
  { id: "NW-1002", customerId: 77, status: "processing" }
]

/** The bot with the order-status profile and tools, the team's order service in memory. */
const orderBot = (script: Script) => testBot({ script, profile, tools }).pipe(Layer.provide(OrderServiceMemory(orders)))

describe("get_order_status", () => {
  it.effect("the model looks the order up and the customer reads the answer", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 42, text: "Where is my order NW-1001?" })])
      expect(textsTo(sent, 42)).toEqual(["Your order NW-1001 is on its way with DHL (JD0146000033) and should arrive on 20 January."])

      const [first, second] = yield* modelRequests("think")
      expect(stageOf(first!)).toBe("orders")
      const offered = first!.tools?.find((t) => t.name === "get_order_status")
      expect(offered?.parameters).toMatchObject({
        type: "object",
        required: ["order_id"],
        properties: { order_id: { type: "string", description: "The order number, e.g. NW-1001" } }
      })
      expect(toolResults(second!)).toEqual([
        {
          callId: "lookup",
          content: {
            order_id: "NW-1001",
            status: "shipped",
            carrier: "DHL",
            tracking_number: "JD0146000033",
            estimated_delivery: "2026-01-20"
          }
        }
      ])
      const [synthesis] = yield* modelRequests("synthesize")
      expect(synthesis!.messages.at(-1)?.content).toContain("JD0146000033")
    }).pipe(
      Effect.provide(orderBot(
        turns({
          stage: "orders",
          think: [
            { toolCalls: [{ id: "lookup", name: "get_order_status", arguments: { order_id: "NW-1001" } }] },
            "NW-1001 shipped with DHL, tracking JD0146000033, arrives 2026-01-20"
          ],
          synthesize: "Your order NW-1001 is on its way with DHL (JD0146000033) and should arrive on 20 January."
        })
      ))
    ))

  it.effect("another customer's order, an unknown order and a malformed number come back to the model as errors", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 42, text: "status of NW-1002, NW-9999 and 1003?" })])
      expect(textsTo(sent, 42)).toEqual(["I couldn't find those orders. Could you check the numbers?"])
      const [, second] = yield* modelRequests("think")
      expect(toolResults(second!)).toEqual([
        { callId: "a", content: { error: "no order NW-1002 for this customer" } },
        { callId: "b", content: { error: "no order NW-9999 for this customer" } },
        { callId: "c", content: { error: expect.stringContaining("expected an order number such as NW-1001") } }
      ])
    }).pipe(
      Effect.provide(orderBot(
        turns({
          stage: "orders",
          think: [
            {
              toolCalls: [
                { id: "a", name: "get_order_status", arguments: { order_id: "NW-1002" } },
                { id: "b", name: "get_order_status", arguments: { order_id: "NW-9999" } },
                { id: "c", name: "get_order_status", arguments: { order_id: "1003" } }
              ]
            },
            "none found"
          ],
          synthesize: "I couldn't find those orders. Could you check the numbers?"
        })
      ))
    ))

  it.effect("stages that do not allow the tool neither offer nor run it", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 42, text: "How can I pay for NW-1001?" })])
      const [first, second] = yield* modelRequests("think")
      expect(stageOf(first!)).toBe("payment")
      expect(first!.tools?.map((t) => t.name)).not.toContain("get_order_status")
      expect(toolResults(second!)).toEqual([
        { callId: "x", content: { error: "unknown tool \"get_order_status\"; available: search_knowledge_base, get_client_profile" } }
      ])
    }).pipe(
      Effect.provide(orderBot(
        turns({
          stage: "payment",
          think: [{ toolCalls: [{ id: "x", name: "get_order_status", arguments: { order_id: "NW-1001" } }] }, "n"],
          synthesize: "We take cards and PayPal."
        })
      ))
    ))
})
