import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Logger, Metric, Option, Redacted, TestClock } from "effect"
import { CurrentPatience, DependencyDown, makeBreaker, makePatience } from "../../src/effect/Breaker.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import type { LlmConfigShape } from "../../src/llm/LlmConfig.ts"
import { providerCalls } from "../../src/llm/LlmMetrics.ts"
import { placeholderKey } from "../../src/llm/OpenAiModel.ts"
import { patientModel } from "../../src/llm/PatientModel.ts"
import { collectingUsage, countingUsage, turnUsage } from "../../src/llm/TurnUsage.ts"
import { withTags } from "../../src/observability/Metrics.ts"
import { ask, failure, searchSpec } from "../support/ModelRequests.ts"
import { type FakeOpenAi, makeFakeOpenAi, openAiLayerFor, testKey } from "../support/FakeOpenAi.ts"

const fallbackKey = "sk-fallback-0123456789abcdefSECRET"

/** The live model on `primary`, with `fallback` behind it. */
const buildModel = (primary: FakeOpenAi, fallback: FakeOpenAi, overrides: Partial<LlmConfigShape> = {}) =>
  Effect.map(
    Layer.build(openAiLayerFor(primary, {
      model: "main-model",
      fallbackBaseUrl: Option.some(fallback.url),
      fallbackApiKey: Option.some(Redacted.make(fallbackKey)),
      fallbackModel: Option.some("fallback-model"),
      ...overrides
    })),
    (context) => Context.get(context, LanguageModel)
  )

/** `bot_llm_calls_total` by provider and outcome, all of them at once. */
const callCounts = Effect.gen(function*() {
  const count = (provider: string, outcome: string) =>
    Effect.map(Metric.value(withTags(providerCalls, { provider, outcome })), (state) => state.count)
  return {
    primaryOk: yield* count("primary", "ok"),
    primaryError: yield* count("primary", "error"),
    primarySkipped: yield* count("primary", "skipped"),
    fallbackOk: yield* count("fallback", "ok"),
    fallbackError: yield* count("fallback", "error")
  }
})

/** How much each count grew since `before`. */
const grownSince = (before: Effect.Effect.Success<typeof callCounts>) =>
  Effect.map(callCounts, (after) => ({
    primaryOk: after.primaryOk - before.primaryOk,
    primaryError: after.primaryError - before.primaryError,
    primarySkipped: after.primarySkipped - before.primarySkipped,
    fallbackOk: after.fallbackOk - before.fallbackOk,
    fallbackError: after.fallbackError - before.fallbackError
  }))

const none = { primaryOk: 0, primaryError: 0, primarySkipped: 0, fallbackOk: 0, fallbackError: 0 }

describe("the fallback model endpoint", () => {
  it.scopedLive("answers a call the primary fails with 5xx after its retries, tool calls included, under the fallback's model", () =>
    Effect.gen(function*() {
      const primary = yield* makeFakeOpenAi()
      const fallback = yield* makeFakeOpenAi()
      const model = yield* buildModel(primary, fallback)
      yield* primary.script({ status: 500 }, { status: 502 }, { status: 503 })
      yield* fallback.script({ toolCalls: [{ name: "search_knowledge_base", arguments: { query: "delivery" } }], usage: { prompt: 30, completion: 5 } })
      const before = yield* callCounts

      const [response, usage] = yield* collectingUsage(Effect.zip(
        countingUsage(model).complete({ ...ask("think"), tools: [searchSpec], model: "a-users-choice" }),
        turnUsage
      ))

      expect(response.toolCalls).toEqual([{ id: expect.any(String), name: "search_knowledge_base", arguments: "{\"query\":\"delivery\"}" }])
      expect(response.model).toBe("fallback-model")
      // The primary's three attempts (two retries), then the fallback once.
      expect((yield* primary.requests).map((r) => r.model)).toEqual(["a-users-choice", "a-users-choice", "a-users-choice"])
      const [asked] = yield* fallback.requests
      expect(asked?.model).toBe("fallback-model")
      expect(asked?.authorization).toBe(`Bearer ${fallbackKey}`)
      expect(asked?.tools?.map((tool) => (tool["function"] as { name: string }).name)).toEqual(["search_knowledge_base"])
      expect(asked?.messages).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: "hello" }])
      // The ledger counts the call under the model that answered it.
      expect(usage).toEqual([{ stage: "think", model: "fallback-model", usage: { promptTokens: 30, completionTokens: 5, cachedPromptTokens: 0, reasoningTokens: 0 } }])
      expect(yield* grownSince(before)).toEqual({ ...none, primaryError: 1, fallbackOk: 1 })
      expect(model.description).toBe(`openai-compatible main-model at ${primary.url}, fallback fallback-model at ${fallback.url}`)
    }))

  it.scopedLive("a 400 from the primary is its answer: no fallback, the error as before", () =>
    Effect.gen(function*() {
      const primary = yield* makeFakeOpenAi()
      const fallback = yield* makeFakeOpenAi({ fallback: () => "should not be asked" })
      const model = yield* buildModel(primary, fallback)
      yield* primary.script({ status: 400, error: "content refused" })
      const before = yield* callCounts

      const error = failure(yield* Effect.exit(model.complete(ask("synthesize"))))

      expect(error.status).toBe(400)
      expect(error.message).toContain("content refused")
      expect(error.outage).toBeUndefined()
      expect(yield* primary.requests).toHaveLength(1)
      expect(yield* fallback.requests).toHaveLength(0)
      expect(yield* grownSince(before)).toEqual({ ...none, primaryError: 1 })
    }))

  it.scopedLive("a streamed call falls back, its text shown as the fallback writes it", () =>
    Effect.gen(function*() {
      const primary = yield* makeFakeOpenAi({ fallback: () => ({ status: 503 }) })
      const fallback = yield* makeFakeOpenAi()
      const model = yield* buildModel(primary, fallback, { maxRetries: 1 })
      yield* fallback.script({ chunks: ["Delivery ", "takes ", "two days."] })
      const shown: Array<string> = []
      const stream = model.stream
      if (stream === undefined) return expect.fail("the live model streams")

      const response = yield* stream(ask("synthesize"), (soFar) => shown.push(soFar))

      expect(response.text).toBe("Delivery takes two days.")
      expect(response.model).toBe("fallback-model")
      expect(shown).toEqual(["Delivery ", "Delivery takes ", "Delivery takes two days."])
      expect(yield* primary.requests).toHaveLength(2)
      const [asked] = yield* fallback.requests
      expect(asked?.body["stream"]).toBe(true)
    }))

  it.scopedLive("a 429 asking for a long wait goes to the fallback at once; a call both endpoints fail is an outage", () =>
    Effect.gen(function*() {
      const primary = yield* makeFakeOpenAi()
      const fallback = yield* makeFakeOpenAi()
      const model = yield* buildModel(primary, fallback)
      yield* primary.script({ status: 429, headers: { "retry-after": "120" } })
      yield* fallback.script("from the fallback")

      expect((yield* model.complete(ask("think"))).text).toBe("from the fallback")
      expect(yield* primary.requests).toHaveLength(1)

      yield* primary.script({ status: 500 }, { status: 500 }, { status: 500 })
      yield* fallback.script({ status: 503 }, { status: 503 }, { status: 503 })
      const before = yield* callCounts
      const error = failure(yield* Effect.exit(model.complete(ask("think"))))
      // The turn's patience (`PatientModel.ts`) waits out an outage of both.
      expect(error.outage).toBe(true)
      expect(error.status).toBe(503)
      expect(yield* grownSince(before)).toEqual({ ...none, primaryError: 1, fallbackError: 1 })
    }))

  it.scopedLive("a fallback model alone falls back on the primary's endpoint with its key; another endpoint never gets the primary's key", () =>
    Effect.gen(function*() {
      const endpoint = yield* makeFakeOpenAi()
      const sameEndpoint = yield* buildModel(endpoint, endpoint, { fallbackBaseUrl: Option.none(), fallbackApiKey: Option.none(), maxRetries: 0 })
      yield* endpoint.scriptFor("main-model", { status: 500 })
      yield* endpoint.scriptFor("fallback-model", "the small model answers")

      expect((yield* sameEndpoint.complete(ask("classify"))).text).toBe("the small model answers")
      expect((yield* endpoint.requests).map((r) => [r.model, r.authorization])).toEqual([
        ["main-model", `Bearer ${testKey}`],
        ["fallback-model", `Bearer ${testKey}`]
      ])

      const primary = yield* makeFakeOpenAi({ fallback: () => ({ status: 500 }) })
      const other = yield* makeFakeOpenAi({ fallback: () => "answered" })
      const keyless = yield* buildModel(primary, other, { fallbackApiKey: Option.none(), maxRetries: 0 })
      expect((yield* keyless.complete(ask("classify"))).text).toBe("answered")
      expect((yield* other.requests).map((r) => r.authorization)).toEqual([`Bearer ${placeholderKey}`])
    }))

  it.scoped("a breaker stops asking a primary that keeps failing, and a probe after the open period goes back to it", () =>
    Effect.gen(function*() {
      let primaryUp = false
      const primary = yield* makeFakeOpenAi({ fallback: () => (primaryUp ? "from the primary" : { status: 500 }) })
      const fallback = yield* makeFakeOpenAi({ fallback: () => "from the fallback" })
      const lines: Array<string> = []
      const logger = Logger.make(({ message }) => {
        lines.push(Array.isArray(message) ? message.map(String).join(" ") : String(message))
      })
      const model = yield* buildModel(primary, fallback, { maxRetries: 0 })
      const answer = model.complete(ask("think")).pipe(
        Effect.map((response) => response.text),
        Effect.provide(Logger.replace(Logger.defaultLogger, logger))
      )
      const before = yield* callCounts

      // Three failed calls in a row open the breaker; each is answered by the fallback.
      for (let i = 0; i < 3; i++) expect(yield* answer).toBe("from the fallback")
      expect(yield* primary.requests).toHaveLength(3)
      // Open: the next calls go straight to the fallback.
      expect(yield* answer).toBe("from the fallback")
      expect(yield* answer).toBe("from the fallback")
      expect(yield* primary.requests).toHaveLength(3)
      expect(yield* grownSince(before)).toEqual({ ...none, primaryError: 3, primarySkipped: 2, fallbackOk: 5 })

      // After the open period one call probes the primary (one attempt); it is still down.
      yield* TestClock.adjust("5 seconds")
      expect(yield* answer).toBe("from the fallback")
      expect(yield* primary.requests).toHaveLength(4)
      expect(yield* answer).toBe("from the fallback")
      expect(yield* primary.requests).toHaveLength(4)

      // The next probe comes after twice the wait, and finds the primary back: it is closed.
      primaryUp = true
      yield* TestClock.adjust("9 seconds")
      expect(yield* answer).toBe("from the fallback")
      expect(yield* primary.requests).toHaveLength(4)
      yield* TestClock.adjust("1 second")
      expect(yield* answer).toBe("from the primary")
      expect(yield* answer).toBe("from the primary")
      expect(yield* primary.requests).toHaveLength(6)

      // One line when it went down, one when it came back; none per call.
      expect(lines.filter((line) => line.includes("primary model endpoint"))).toEqual([
        expect.stringMatching(/^primary model endpoint is down, calls go to the fallback: HTTP 500/),
        expect.stringMatching(/^primary model endpoint is back after 15s/)
      ])
    }))

  it.scopedLive("in a turn, a primary outage is answered without waiting; only both endpoints down is waited out", () =>
    Effect.gen(function*() {
      let fallbackUp = true
      const primary = yield* makeFakeOpenAi({ fallback: () => ({ status: 500 }) })
      const fallback = yield* makeFakeOpenAi({ fallback: () => (fallbackUp ? "from the fallback" : { status: 503 }) })
      const live = yield* buildModel(primary, fallback, { maxRetries: 0 })
      // The model's breaker of the bot's layers (`Outages`), quick to open and probe.
      const modelBreaker = yield* makeBreaker("model", { threshold: 1, probeBase: Duration.millis(20), probeMax: Duration.millis(40) })
      const model = patientModel(live, Option.some(modelBreaker))
      const turn = makePatience(Duration.millis(300))

      const answered = yield* Effect.locally(model.complete(ask("think")), CurrentPatience, turn)
      expect(answered.text).toBe("from the fallback")
      expect(turn.waitedFor.size).toBe(0)
      expect(yield* modelBreaker.isDown).toBe(false)

      fallbackUp = false
      const late = makePatience(Duration.millis(300))
      const given = yield* Effect.flip(Effect.locally(model.complete(ask("think")), CurrentPatience, late))
      expect(given).toBeInstanceOf(DependencyDown)
      expect(late.gaveUp).toBe("model")
      // Waited out: the fallback was asked again while the turn's patience lasted.
      expect((yield* fallback.requests).length).toBeGreaterThan(2)
    }))
})
