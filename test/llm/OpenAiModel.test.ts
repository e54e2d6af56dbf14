import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Duration, Effect, Fiber, Layer, Metric, Option } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { LanguageModel, noUsage } from "../../src/llm/LanguageModel.ts"
import { describeLlm, LlmConfig, type LlmConfigShape } from "../../src/llm/LlmConfig.ts"
import { completionTokens, promptTokens, retries, tokens } from "../../src/llm/LlmMetrics.ts"
import { withTags } from "../../src/observability/Metrics.ts"
import { LanguageModelLive } from "../../src/llm/OpenAiLayers.ts"
import { placeholderKey } from "../../src/llm/OpenAiModel.ts"
import { ask, failure, searchSpec } from "../support/ModelRequests.ts"
import { type FakeCompletion, makeFakeOpenAi, openAiLayerFor, testKey } from "../support/FakeOpenAi.ts"

const buildModel = (fake: { readonly url: string }, overrides: Partial<LlmConfigShape> = {}) =>
  Effect.map(Layer.build(openAiLayerFor(fake, overrides)), (context) => Context.get(context, LanguageModel))

const counterValue = (metric: Metric.Metric.Counter<number>, purpose: string, model: string) =>
  Effect.map(Metric.value(metric.pipe(Metric.tagged("purpose", purpose), Metric.tagged("model", model))), (s) => s.count)

/** A port nothing listens on: a server is opened and closed again. */
const closedPort = Effect.async<number>((resume) => {
  const server = Http.createServer()
  server.listen(0, "127.0.0.1", () => {
    const port = (server.address() as AddressInfo).port
    server.close(() => resume(Effect.succeed(port)))
  })
})

describe("OpenAiModel requests", () => {
  it.scopedLive("sends the model of each stage, the messages and the settings; maps text and usage", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, {
        model: "main-model",
        classifyModel: Option.some("cheap-model"),
        temperature: Option.some(0.2),
        maxOutputTokens: Option.some(300)
      })
      yield* fake.scriptFor("cheap-model", { text: "delivery", usage: { prompt: 40, completion: 2 } })
      yield* fake.scriptFor("main-model", "notes", "Delivery costs 4.90 EUR.")

      const classified = yield* model.complete(ask("classify"))
      const thought = yield* model.complete(ask("think"))
      const answer = yield* model.complete(ask("synthesize"))

      expect(classified).toEqual({ text: "delivery", toolCalls: [], usage: { promptTokens: 40, completionTokens: 2, cachedPromptTokens: 0, reasoningTokens: 0 }, model: "cheap-model" })
      expect(thought.text).toBe("notes")
      expect(answer.text).toBe("Delivery costs 4.90 EUR.")
      const requests = yield* fake.requests
      expect(requests.map((r) => r.model)).toEqual(["cheap-model", "main-model", "main-model"])
      const first = requests[0]!
      expect(first.path).toBe("/v1/chat/completions")
      expect(first.authorization).toBe(`Bearer ${testKey}`)
      expect(first.messages).toEqual([{ role: "system", content: "Be brief." }, { role: "user", content: "hello" }])
      expect(first.body["temperature"]).toBe(0.2)
      // Not api.openai.com: the widely supported `max_tokens`.
      expect(first.body["max_tokens"]).toBe(300)
      expect(first.body["stream"]).toBeUndefined()
      expect(first.tools).toBeUndefined()
      expect(model.description).toBe(`openai-compatible main-model at ${fake.url} (classify: cheap-model)`)
    }))

  it.scopedLive("leaves unset settings out and sends a placeholder key when none is configured", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { apiKey: Option.none() })
      yield* fake.script("hi")
      yield* model.complete(ask("synthesize"))
      const [request] = yield* fake.requests
      expect(request!.authorization).toBe(`Bearer ${placeholderKey}`)
      expect(Object.keys(request!.body).sort()).toEqual(["messages", "model"])
    }))

  it.scopedLive("sends tools as functions and maps several tool calls", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake)
      yield* fake.script({
        toolCalls: [
          { id: "call_a", name: "search_knowledge_base", arguments: { query: "delivery" } },
          { id: "call_b", name: "get_current_time", arguments: "{\"time_zone\": " }
        ]
      })
      const response = yield* model.complete({ ...ask("think"), tools: [searchSpec] })
      expect(response.text).toBeNull()
      expect(response.toolCalls).toEqual([
        { id: "call_a", name: "search_knowledge_base", arguments: "{\"query\":\"delivery\"}" },
        { id: "call_b", name: "get_current_time", arguments: "{\"time_zone\": " }
      ])
      const [request] = yield* fake.requests
      expect(request!.tools).toEqual([{ type: "function", function: searchSpec }])
    }))

  it.scopedLive("sends an assistant turn with tool calls back exactly, tool results by id and capped", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { toolResultChars: 500 })
      yield* fake.script("done")
      const long = JSON.stringify({ text: "x".repeat(5000) })
      yield* model.complete({
        purpose: "think",
        tools: [searchSpec],
        messages: [
          { role: "user", content: "find it" },
          { role: "assistant", content: null, toolCalls: [{ id: "call_1", name: "search_knowledge_base", arguments: "{\"query\":\"it\"}" }] },
          { role: "tool", toolCallId: "call_1", content: long },
          { role: "assistant", content: "One more.", toolCalls: [{ id: "call_2", name: "search_knowledge_base", arguments: "not json" }] },
          { role: "tool", toolCallId: "call_2", content: "{\"error\":\"arguments are not valid JSON\"}" }
        ]
      })
      const [request] = yield* fake.requests
      const messages = request!.messages
      expect(messages[1]).toEqual({
        role: "assistant",
        content: null,
        tool_calls: [{ id: "call_1", type: "function", function: { name: "search_knowledge_base", arguments: "{\"query\":\"it\"}" } }]
      })
      expect(messages[2]!["tool_call_id"]).toBe("call_1")
      expect(String(messages[2]!["content"]).length).toBeLessThanOrEqual(500)
      expect(String(messages[2]!["content"])).toMatch(/more characters cut\]$/)
      expect(messages[3]).toEqual({
        role: "assistant",
        content: "One more.",
        tool_calls: [{ id: "call_2", type: "function", function: { name: "search_knowledge_base", arguments: "not json" } }]
      })
      expect(messages[4]).toEqual({ role: "tool", tool_call_id: "call_2", content: "{\"error\":\"arguments are not valid JSON\"}" })
    }))
})

describe("OpenAiModel responses", () => {
  it.scopedLive("absent usage counts as zero; arguments sent as an object and missing ids are accepted", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake)
      yield* fake.script({ text: "plain", usage: null })
      yield* fake.script({
        raw: JSON.stringify({
          model: "m",
          choices: [{ message: { content: null, tool_calls: [{ type: "function", function: { name: "get_current_time", arguments: { time_zone: "UTC" } } }] } }]
        }),
        contentType: "application/json"
      })
      const plain = yield* model.complete(ask("synthesize"))
      expect(plain.usage).toEqual(noUsage)
      const odd = yield* model.complete(ask("think"))
      expect(odd.toolCalls).toEqual([{ id: "call_0", name: "get_current_time", arguments: "{\"time_zone\":\"UTC\"}" }])
      expect(odd.text).toBeNull()
    }))

  const unreadable: ReadonlyArray<readonly [string, FakeCompletion, RegExp]> = [
    ["no choices", { raw: JSON.stringify({ model: "m", choices: [] }), contentType: "application/json" }, /no choices/],
    ["a body that is not JSON", { raw: "<html>oops</html>", contentType: "text/html" }, /unreadable response/],
    ["broken JSON", { raw: "{\"choices\": [", contentType: "application/json" }, /unreadable response/],
    ["a choice without a message", { raw: JSON.stringify({ choices: [{ index: 0 }] }), contentType: "application/json" }, /unreadable response/],
    ["a tool call without a name", {
      raw: JSON.stringify({ choices: [{ message: { tool_calls: [{ id: "x", function: { arguments: "{}" } }] } }] }),
      contentType: "application/json"
    }, /unreadable response/]
  ]
  for (const [label, reply, message] of unreadable) {
    it.scopedLive(`${label} is a LanguageModelError, not retried`, () =>
      Effect.gen(function*() {
        const fake = yield* makeFakeOpenAi()
        const model = yield* buildModel(fake)
        yield* fake.script(reply)
        const error = failure(yield* Effect.exit(model.complete(ask("classify"))))
        expect(error.purpose).toBe("classify")
        expect(error.message).toMatch(message)
        expect((yield* fake.requests).length).toBe(1)
      }))
  }
})

describe("OpenAiModel retries", () => {
  it.scopedLive("a 429 with retry-after-ms is retried after the wait it asks for, and counted", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { model: "retry-429-model" })
      yield* fake.script({ status: 429, error: "slow down", headers: { "retry-after-ms": "30" } }, "ok")
      const before = yield* counterValue(retries, "synthesize", "retry-429-model")
      const response = yield* model.complete(ask("synthesize"))
      expect(response.text).toBe("ok")
      expect((yield* fake.requests).length).toBe(2)
      expect((yield* counterValue(retries, "synthesize", "retry-429-model")) - before).toBe(1)
    }))

  it.scopedLive("a retry-after far beyond the cap waits only the cap", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { retryAfterCap: Duration.millis(20) })
      yield* fake.script({ status: 429, headers: { "retry-after": "3600" } }, "ok")
      const response = yield* model.complete(ask("think")).pipe(Effect.timeout("5 seconds"))
      expect(response.text).toBe("ok")
    }))

  it.scopedLive("5xx, 408 and 409 are retried up to the limit, then fail with the status", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { maxRetries: 2 })
      yield* fake.script({ status: 500 }, { status: 408 }, "third time")
      expect((yield* model.complete(ask("think"))).text).toBe("third time")
      yield* fake.script({ status: 503 }, { status: 409 }, { status: 502 }, "never asked")
      const error = failure(yield* Effect.exit(model.complete(ask("think"))))
      expect(error.status).toBe(502)
      expect(error.message).toMatch(/HTTP 502/)
      expect((yield* fake.requests).length).toBe(6)
    }))

  it.scopedLive("400, 401, 404 and 422 are not retried", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { maxRetries: 3 })
      for (const status of [400, 401, 404, 422]) {
        yield* fake.script({ status, error: `bad ${status}` })
        const error = failure(yield* Effect.exit(model.complete(ask("classify"))))
        expect(error.status).toBe(status)
      }
      expect((yield* fake.requests).length).toBe(4)
    }))

  it.scopedLive("a refused connection is retried, then a LanguageModelError", () =>
    Effect.gen(function*() {
      const port = yield* closedPort
      const model = yield* buildModel({ url: `http://127.0.0.1:${port}/v1` }, { maxRetries: 1 })
      const error = failure(yield* Effect.exit(model.complete(ask("think"))))
      expect(error.message).toMatch(/connection failed/)
      expect(error.message).toMatch(/ECONNREFUSED/)
    }))

  it.scopedLive("a reply that never comes times out per request, is retried, and each request is aborted", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { timeout: Duration.millis(200), maxRetries: 1 })
      yield* fake.script({ hang: true }, { hang: true })
      const error = failure(yield* Effect.exit(model.complete(ask("think"))))
      expect(error.message).toMatch(/no answer within 200 ms/)
      expect((yield* fake.requests).length).toBe(2)
      yield* fake.waitForAborted(2).pipe(Effect.timeout("5 seconds"))
    }))

  it.scopedLive("interrupting a call cancels its HTTP request", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake)
      yield* fake.script({ hang: true })
      const fiber = yield* Effect.fork(model.complete(ask("synthesize")))
      yield* fake.waitForRequests(1)
      yield* Fiber.interrupt(fiber)
      yield* fake.waitForAborted(1).pipe(Effect.timeout("5 seconds"))
      expect((yield* fake.requests).length).toBe(1)
    }))
})

describe("OpenAiModel secrets and metrics", () => {
  it.scopedLive("the key never appears in errors or the description", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi({
        // An endpoint that echoes the key it got, as some proxies do.
        fallback: (request) => ({ status: 401, error: `Incorrect API key provided: ${request.authorization.replace("Bearer ", "")}` })
      })
      const model = yield* buildModel(fake)
      const error = failure(yield* Effect.exit(model.complete(ask("classify"))))
      expect(error.status).toBe(401)
      expect(error.message).toContain("<redacted>")
      for (const text of [error.message, String(error), JSON.stringify(error), model.description]) {
        expect(text).not.toContain(testKey)
      }
    }))

  it.scopedLive("the description leaves credentials in the URL out", () =>
    Effect.gen(function*() {
      const shape = yield* Effect.map(Layer.build(LlmConfig.make({ baseUrl: Option.some("https://user:pw@llm.example.com/v1/?k=1") })), (c) => Context.get(c, LlmConfig))
      expect(describeLlm(shape)).toBe("openai-compatible gpt-4o-mini at https://llm.example.com/v1")
    }))

  it.scopedLive("tokens are counted per purpose and model", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { model: "metered-model", classifyModel: Option.some("metered-cheap") })
      yield* fake.script({ text: "general", usage: { prompt: 100, completion: 3 } }, { text: "hi", usage: { prompt: 250, completion: 40 } })
      yield* model.complete(ask("classify"))
      yield* model.complete(ask("synthesize"))
      expect(yield* counterValue(promptTokens, "classify", "metered-cheap")).toBe(100)
      expect(yield* counterValue(completionTokens, "classify", "metered-cheap")).toBe(3)
      expect(yield* counterValue(promptTokens, "synthesize", "metered-model")).toBe(250)
      expect(yield* counterValue(completionTokens, "synthesize", "metered-model")).toBe(40)
    }))

  it.scopedLive("bot_llm_tokens_total counts each kind of token by model and stage, cached and reasoning ones too", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const model = yield* buildModel(fake, { model: "kinds-model" })
      yield* fake.script({ text: "hi", usage: { prompt: 900, completion: 60, cached: 512, reasoning: 20 } }, { text: "again", usage: { prompt: 100, completion: 5 } })
      yield* model.complete(ask("think"))
      yield* model.complete(ask("think"))
      const kind = (k: string) => Effect.map(Metric.value(withTags(tokens, { model: "kinds-model", stage: "think", kind: k })), (s) => s.count)
      expect(yield* kind("prompt")).toBe(1000)
      expect(yield* kind("cached_prompt")).toBe(512)
      expect(yield* kind("completion")).toBe(65)
      expect(yield* kind("reasoning")).toBe(20)
    }))

  it.scopedLive("LanguageModelLive reads its settings from the environment", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script("from env")
      const model = yield* Effect.map(Layer.build(LanguageModelLive), (c) => Context.get(c, LanguageModel)).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(
          new Map([["OPENAI_BASE_URL", fake.url], ["OPENAI_MODEL", "env-model"], ["LLM_MAX_RETRIES", "0"]])
        ))
      )
      expect((yield* model.complete(ask("synthesize"))).text).toBe("from env")
      expect((yield* fake.requests)[0]!.model).toBe("env-model")
    }))
})
