/**
 * The offline model with a team's own tools: which tool it picks for a text, which parameters
 * it finds there, and the order-status example answering its own question without a key.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { defineTool } from "../../src/tools/Tool.ts"
import { planToolCalls } from "../../src/llm/OfflineModel.ts"
import { planTeamToolCall } from "../../src/llm/offlineTools.ts"
import type { ToolSpec } from "../../src/llm/LanguageModel.ts"
import { runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { OrderServiceMemory } from "../../examples/order-status/OrderService.ts"
import { orderStatusTool } from "../../examples/order-status/orderStatusTool.ts"
import { tools } from "../../examples/order-status/tools.ts"

const specOf = (tool: { readonly name: string; readonly description: string; readonly jsonSchema: object }): ToolSpec => ({
  name: tool.name,
  description: tool.description,
  parameters: tool.jsonSchema
})

const orderStatus = specOf(orderStatusTool)
const refund = specOf(defineTool({
  name: "refund_payment",
  description: "Refunds an amount of a payment to the customer.",
  parameters: Schema.Struct({ amount: Schema.Number, email: Schema.String }),
  handler: () => Effect.succeed({})
}))
const weather = specOf(defineTool({
  name: "weatherForecast",
  description: "The forecast for a city.",
  parameters: Schema.Struct({ days: Schema.optional(Schema.Int) }),
  handler: () => Effect.succeed({})
}))

describe("planTeamToolCall", () => {
  it("picks the tool sharing words with the text and fills a parameter from its pattern", () => {
    expect(planTeamToolCall("Where is my order NW-1001?", [refund, orderStatus, weather])).toEqual({
      name: "get_order_status",
      arguments: JSON.stringify({ order_id: "NW-1001" })
    })
  })

  it("calls nothing when a required parameter is not in the text", () => {
    expect(planTeamToolCall("Where is my order?", [orderStatus])).toBeUndefined()
    expect(planTeamToolCall("Please refund 12.5 to me", [refund])).toBeUndefined()
  })

  it("fills numbers and emails, and an optional integer when there is one", () => {
    expect(planTeamToolCall("Refund 12.5 of my payment to ann@example.org", [orderStatus, refund])).toEqual({
      name: "refund_payment",
      arguments: JSON.stringify({ amount: 12.5, email: "ann@example.org" })
    })
    expect(planTeamToolCall("weather forecast for 3 days", [weather])).toEqual({
      name: "weatherForecast",
      arguments: JSON.stringify({ days: 3 })
    })
    expect(planTeamToolCall("what's the weather like", [weather])).toEqual({ name: "weatherForecast", arguments: "{}" })
  })

  it("calls nothing for a text that shares no word with any tool", () => {
    expect(planTeamToolCall("Hello there NW-1001", [orderStatus, refund])).toBeUndefined()
  })
})

describe("planToolCalls", () => {
  it("a team's tool that fits answers instead of the knowledge base; the built-in rules still apply", () => {
    const knowledge: ToolSpec = { name: "search_knowledge_base", description: "Searches the shop's notes", parameters: {} }
    expect(planToolCalls("Where is my order NW-1001?", [knowledge, orderStatus])).toEqual([
      { id: "offline_1", name: "get_order_status", arguments: JSON.stringify({ order_id: "NW-1001" }) }
    ])
    expect(planToolCalls("Where is my parcel?", [knowledge, orderStatus])).toEqual([
      { id: "offline_1", name: "search_knowledge_base", arguments: JSON.stringify({ query: "Where is my parcel?" }) }
    ])
  })
})

describe("the order-status example on the offline model", () => {
  const profile = new URL("../../examples/order-status/profile.json", import.meta.url).pathname
  const bot = testBot({ model: "offline", profile, tools }).pipe(
    Layer.provide(OrderServiceMemory([
      { id: "NW-1001", customerId: 42, status: "shipped", carrier: "DHL", trackingNumber: "JD0146000033", estimatedDelivery: "2026-01-20" }
    ]))
  )

  it.effect("answers \"Where is my order NW-1001?\" with the tool's result", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([
        textMessage({ userId: 42, text: "Hello" }),
        textMessage({ userId: 42, text: "Where is my order NW-1001?" }),
        textMessage({ userId: 42, text: "And order NW-1005?" })
      ])
      const [, answer, missing] = textsTo(sent, 42)
      expect(answer).toBe(
        "Order status: order id NW-1001, status shipped, carrier DHL, tracking number JD0146000033, estimated delivery 2026-01-20."
      )
      expect(missing).toBe("I couldn't complete that step (no order NW-1005 for this customer).")
    }).pipe(Effect.provide(bot)))
})
