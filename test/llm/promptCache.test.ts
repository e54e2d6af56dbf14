/**
 * Prompt caching over the live model (the real `openai` SDK) and the fake endpoint on
 * 127.0.0.1: every request names the profile's cache key, the opening of the prompt and the
 * tools are the same byte for byte for two users in different stages, and the cached tokens the
 * endpoint reports reach the usage ledger.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { type FakeRequest, makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"

const usage = { prompt: 300, completion: 20, cached: 256 }
const reply = (text: string) => ({ text, usage })

describe("prompt caching", () => {
  it.scopedLive("a stable prefix across users, the profile's prompt_cache_key, cached tokens in the ledger", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.scriptFor("classify-model", reply("delivery"), reply("delivery"))
      yield* fake.scriptFor("main-model", reply("notes for Ann"), reply("Delivery is 4.90 EUR."), reply("notes for Bob"), reply("The same, 4.90 EUR."))
      const bot = testBot<never>({ model: openAiLayerFor(fake, { model: "main-model", classifyModel: Option.some("classify-model") }) })
      const { ann, bob, totals } = yield* Effect.gen(function*() {
        const ann = yield* runUpdates([textMessage({ userId: 601, firstName: "Ann", text: "How much is delivery?" })])
        const bob = yield* runUpdates([textMessage({ userId: 602, firstName: "Bob", text: "And delivery to Lyon?" })])
        return { ann, bob, totals: yield* Effect.flatMap(UsageLedger, (ledger) => ledger.totals(0)) }
      }).pipe(Effect.provide(bot))
      expect(textsTo(ann, 601)).toEqual(["Delivery is 4.90 EUR."])
      expect(textsTo(bob, 602)).toEqual(["The same, 4.90 EUR."])

      const requests = yield* fake.requests
      expect(requests).toHaveLength(6)
      expect(requests.map((r) => r.body["prompt_cache_key"])).toEqual(Array(6).fill("profile:Northwind Goods"))
      const [, annThink, annSynthesize, , bobThink, bobSynthesize] = requests as ReadonlyArray<FakeRequest>
      // The prefix: the first message and the stage's tools, identical for both users.
      expect(bobThink!.messages[0]).toEqual(annThink!.messages[0])
      expect(bobSynthesize!.messages[0]).toEqual(annSynthesize!.messages[0])
      expect(JSON.stringify(bobThink!.tools)).toBe(JSON.stringify(annThink!.tools))
      for (const request of [annThink!, annSynthesize!]) {
        const prefix = String(request.messages[0]!["content"])
        expect(prefix).not.toMatch(/Current dialog stage|Ann|Customer profile/)
        // The turn's facts come after the history, just before the user's message.
        const facts = request.messages.at(request === annThink ? -2 : -3)!
        expect(facts["role"]).toBe("system")
        expect(String(facts["content"])).toContain("Current dialog stage: delivery")
        expect(String(facts["content"])).toContain("Telegram name: Ann")
      }
      expect(String(bobThink!.messages.at(-2)!["content"])).toContain("Telegram name: Bob")

      // Each turn's three calls: 3 × 256 cached of 3 × 300 prompt tokens.
      const of = (userId: number) => totals.filter((t) => t.userId === (userId as TelegramId))
      for (const userId of [601, 602]) {
        expect(of(userId).reduce((n, t) => n + t.cachedPromptTokens, 0)).toBe(3 * 256)
        expect(of(userId).reduce((n, t) => n + t.promptTokens, 0)).toBe(3 * 300)
      }
    }))
})
