/**
 * The testing kit as a team uses it: imported by the package name, a custom tool defined with
 * the public API, a conversation scripted turn by turn.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { builtinTools, defineTool, ToolFailure } from "effect-telegram-dialog-bot"
import {
  conversation,
  HistoryStore,
  modelRequests,
  runUpdates,
  stageOf,
  testBot,
  textMessage,
  textsTo,
  toolResults,
  transcript,
  turns
} from "effect-telegram-dialog-bot/testing"
import type { TelegramId } from "../../src/domain/Update.ts"

const stockLevel = defineTool({
  name: "get_stock_level",
  description: "How many items of a product are in stock.",
  parameters: Schema.Struct({ sku: Schema.String.pipe(Schema.pattern(/^[A-Z]{2}-\d+$/)) }),
  handler: ({ sku }) =>
    sku === "MG-1" ? Effect.succeed({ sku, in_stock: 12 }) : Effect.fail(new ToolFailure({ message: `unknown product ${sku}` }))
})

describe("conversation and turns", () => {
  it("conversation builds one user's messages with consecutive update ids", () => {
    const updates = conversation(5, ["hi", "bye"], { firstUpdateId: 10, firstName: "Ann" })
    expect(updates.map((u) => [u.update_id, u.message.chat.id, u.message.from.first_name, u.message.text])).toEqual([
      [10, 5, "Ann", "hi"],
      [11, 5, "Ann", "bye"]
    ])
    expect(updates[0]!.message.chat.type).toBe("private")
  })

  it("turns scripts the model per user message and stage", () => {
    expect(
      turns(
        { stage: "general", synthesize: "Hello!" },
        { stage: "delivery", think: [{ toolCalls: [{ name: "search_knowledge_base", arguments: { query: "x" } }] }, "n"], synthesize: ["A", "B"] }
      )
    ).toEqual({
      classify: ["general", "delivery"],
      think: ["", { toolCalls: [{ name: "search_knowledge_base", arguments: { query: "x" } }] }, "n"],
      synthesize: ["Hello!", "A", "B"]
    })
  })
})

describe("testBot with a custom tool", () => {
  it.effect("two turns in two stages: replies, transcript, what the model was given, history", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates(conversation(31, ["hello", "do you have MG-1 and XX-2?"], { firstUpdateId: 500 }))
      expect(textsTo(sent, 31)).toEqual(["Hi there!", "MG-1: 12 in stock. XX-2 I don't know."])
      expect(transcript(sent)).toEqual([
        { update_id: 500, chat_id: 31, text: "Hi there!" },
        { update_id: 501, chat_id: 31, text: "MG-1: 12 in stock. XX-2 I don't know." }
      ])

      const think = yield* modelRequests("think")
      expect(think.map(stageOf)).toEqual(["general", "delivery", "delivery"])
      expect(think[1]!.tools?.map((t) => t.name)).toContain("get_stock_level")
      expect(toolResults(think[2]!)).toEqual([
        { callId: "s1", content: { sku: "MG-1", in_stock: 12 } },
        { callId: "s2", content: { error: "unknown product XX-2" } }
      ])
      expect((yield* modelRequests()).map((r) => r.purpose)).toEqual([
        "classify", "think", "synthesize", "classify", "think", "think", "synthesize"
      ])
      const history = yield* (yield* HistoryStore).lastN(31 as TelegramId, 10)
      expect(history.map((m) => m.role)).toEqual(["user", "assistant", "user", "assistant"])
    }).pipe(
      Effect.provide(testBot({
        tools: [...builtinTools, stockLevel],
        profile: new URL("./fixtures/stock-profile.json", import.meta.url).pathname,
        script: turns(
          { stage: "general", synthesize: "Hi there!" },
          {
            stage: "delivery",
            think: [
              {
                toolCalls: [
                  { id: "s1", name: "get_stock_level", arguments: { sku: "MG-1" } },
                  { id: "s2", name: "get_stock_level", arguments: { sku: "XX-2" } }
                ]
              },
              "MG-1 has 12"
            ],
            synthesize: "MG-1: 12 in stock. XX-2 I don't know."
          }
        )
      }))
    ))

  it.effect("a script that runs out fails loudly and the user still gets the apology", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 32, text: "hi" })])
      expect(textsTo(sent, 32)).toEqual([
        "Sorry, something went wrong on our side and I can't answer right now. Please try again in a minute."
      ])
    }).pipe(Effect.provide(testBot({ script: turns({ stage: "general", think: [], synthesize: [] }) }))))
})
