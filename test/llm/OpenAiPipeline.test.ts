/**
 * Whole dialogs through the dispatcher and the pipeline with the live model (the real `openai`
 * SDK) against the fake endpoint over HTTP on 127.0.0.1.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, HashMap, Logger, Option, Schema } from "effect"
import { summaryInstructions } from "../../src/dialog/prompts.ts"
import type { LlmConfigShape } from "../../src/llm/LlmConfig.ts"
import { builtinTools, defineTool, Inbox, runUpdates, TelegramRecorder, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { eventually } from "../support/realTime.ts"
import { TelegramId } from "../../src/domain/Update.ts"
import type { TestBotOptions } from "../../src/testing/index.ts"
import { type FakeOpenAi, type FakeRequest, makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"

const apology = "Sorry, something went wrong on our side and I can't answer right now. Please try again in a minute."

const bot = (fake: { readonly url: string }, llm: Partial<LlmConfigShape> = {}, options: TestBotOptions = {}) =>
  testBot<never>({
    ...options,
    model: openAiLayerFor(fake, { model: "main-model", classifyModel: Option.some("classify-model"), ...llm })
  })

/** The answers of a working endpoint: a stage, notes, then the reply. */
const answers = (r: FakeRequest) => (r.model === "classify-model" ? "general" : isThink(r) ? "notes" : "The real answer.")

const isThink = (r: FakeRequest) => String(r.messages[0]?.["content"] ?? "").includes("Call tools when they help")
const toolMessages = (r: FakeRequest) => r.messages.filter((m) => m["role"] === "tool")
const parsed = (m: Record<string, unknown>): Record<string, unknown> => {
  const decoded = Schema.decodeUnknownOption(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })))(m["content"])
  return Option.getOrElse(decoded, () => ({}))
}

describe("a dialog with the live model", () => {
  it.scopedLive("classifies, runs parallel tool calls with bad ones fed back by id, and answers", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.scriptFor("classify-model", "Stage: **Delivery**.")
      const calls = [
        { id: "c1", name: "search_knowledge_base", arguments: "{\"query\":\"delivery price\"}" },
        { id: "c2", name: "update_client_profile", arguments: "{\"phone\": +49" },
        { id: "c3", name: "launch_rocket", arguments: "{}" },
        { id: "c4", name: "update_client_profile", arguments: "{\"phone\":\"call me maybe\"}" }
      ]
      yield* fake.scriptFor(
        "main-model",
        { toolCalls: calls },
        "Delivery costs 4.90 EUR; the phone number was not valid.",
        "Standard delivery is 4.90 EUR. Could you send your phone number again?"
      )
      const sent = yield* runUpdates([textMessage({ userId: 501, text: "How much is delivery? My phone is +49" })]).pipe(
        Effect.provide(bot(fake))
      )
      expect(textsTo(sent, 501)).toEqual(["Standard delivery is 4.90 EUR. Could you send your phone number again?"])

      const requests = yield* fake.requests
      expect(requests.map((r) => r.model)).toEqual(["classify-model", "main-model", "main-model", "main-model"])
      const [classify, think1, think2, synthesize] = requests as [FakeRequest, FakeRequest, FakeRequest, FakeRequest]
      expect(classify.tools).toBeUndefined()
      expect(String(classify.messages[0]!["content"])).toContain("Answer with one of: general, delivery, payment, support, account.")
      expect(String(think1.messages.at(-2)!["content"])).toContain("Current dialog stage: delivery")
      expect(think1.tools?.map((t) => (t["function"] as Record<string, unknown>)["name"])).toEqual([
        "search_knowledge_base",
        "get_client_profile",
        "update_client_profile",
        "get_current_time"
      ])
      for (const tool of think1.tools ?? []) {
        const parameters = (tool["function"] as Record<string, unknown>)["parameters"] as Record<string, unknown>
        expect(parameters["type"]).toBe("object")
        expect(JSON.stringify(parameters)).not.toMatch(/\$ref|\$defs|\$schema|\$id/)
      }

      // The assistant turn goes back exactly as the model wrote it, then one result per call id.
      const assistant = think2.messages.find((m) => m["role"] === "assistant")!
      expect(assistant).toEqual({
        role: "assistant",
        content: null,
        tool_calls: calls.map((c) => ({ id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }))
      })
      const results = toolMessages(think2)
      expect(results.map((m) => m["tool_call_id"])).toEqual(["c1", "c2", "c3", "c4"])
      expect(String(results[0]!["content"])).toContain("Delivery")
      expect(parsed(results[1]!)["error"]).toMatch(/not valid JSON/)
      expect(parsed(results[2]!)["error"]).toMatch(/unknown tool "launch_rocket"/)
      expect(parsed(results[3]!)["error"]).toMatch(/invalid arguments for update_client_profile/)
      expect(think2.messages.indexOf(assistant)).toBe(think2.messages.length - 5)

      const findings = String(synthesize.messages.at(-1)!["content"])
      expect(findings).toContain("Delivery costs 4.90 EUR; the phone number was not valid.")
      expect(findings).toContain("- search_knowledge_base:")
      expect(synthesize.tools).toBeUndefined()
    }))

  it.scopedLive("a tool that times out comes back to the model as an error; huge results are capped", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const slow = defineTool({
        name: "get_current_time",
        description: "Never answers in time",
        parameters: Schema.Struct({}),
        handler: () => Effect.as(Effect.sleep("10 seconds"), { never: true })
      })
      const huge = defineTool({
        name: "search_knowledge_base",
        description: "Returns far too much",
        parameters: Schema.Struct({ query: Schema.String }),
        handler: () => Effect.succeed({ text: "lorem ipsum ".repeat(3000) })
      })
      const tools = [...builtinTools.filter((t) => t.name !== slow.name && t.name !== huge.name), slow, huge]
      yield* fake.scriptFor("classify-model", "delivery")
      yield* fake.scriptFor(
        "main-model",
        { toolCalls: [{ id: "t1", name: "get_current_time" }, { id: "t2", name: "search_knowledge_base", arguments: { query: "x" } }] },
        "notes",
        "Answer."
      )
      const sent = yield* runUpdates([textMessage({ userId: 502, text: "what time is it?" })]).pipe(
        Effect.provide(bot(fake, {}, { tools, toolConfig: { toolTimeout: Duration.millis(150) } }))
      )
      expect(textsTo(sent, 502)).toEqual(["Answer."])
      const think2 = (yield* fake.requests).filter(isThink)[1]!
      const [timedOut, big] = toolMessages(think2) as [Record<string, unknown>, Record<string, unknown>]
      expect(timedOut["tool_call_id"]).toBe("t1")
      expect(parsed(timedOut)["error"]).toMatch(/timed out after 150 ms/)
      expect(big["tool_call_id"]).toBe("t2")
      expect(String(big["content"]).length).toBeLessThanOrEqual(4000)
      const synthesize = (yield* fake.requests).at(-1)!
      expect(String(synthesize.messages.at(-1)!["content"]).length).toBeLessThan(5000)
    }))

  it.scopedLive("the history given to every stage is trimmed to the character budget, newest kept", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi({
        fallback: (r) => (r.model === "classify-model" ? "general" : isThink(r) ? "notes" : `Reply ${"r".repeat(150)}`)
      })
      const texts = ["first", "second", "third", "fourth"].map((w) => `${w} ${"u".repeat(150)}`)
      yield* runUpdates(texts.map((text) => textMessage({ userId: 503, text }))).pipe(
        Effect.provide(bot(fake, {}, { dialog: { historyCharBudget: 400 } }))
      )
      // The stages' requests; the folds of what fell out of the window run beside them (dialog/Compaction.ts).
      const requests = (yield* fake.requests).filter((r) => r.messages[0]?.["content"] !== summaryInstructions)
      expect(requests).toHaveLength(12)
      for (const request of requests.slice(-3)) {
        const lastUser = request.messages.map((m) => m["role"]).lastIndexOf("user")
        // Between the prefix and the user's turn: the history, then (think, synthesize) the turn's facts.
        const history = request.messages.slice(1, lastUser).filter((m) => m["role"] !== "system")
        const chars = history.reduce((n, m) => n + String(m["content"]).length, 0)
        expect(history.length).toBeGreaterThan(0)
        expect(chars).toBeLessThanOrEqual(400)
        expect(request.messages[lastUser]!["content"]).toBe(texts[3])
        // The newest past messages are the ones kept.
        expect(history.at(-1)).toEqual({ role: "assistant", content: `Reply ${"r".repeat(150)}` })
        expect(history.map((m) => m["content"])).not.toContain(texts[0])
      }
    }))

  it.scopedLive("per-stage token usage is logged with the dialog", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.scriptFor("classify-model", { text: "general", usage: { prompt: 120, completion: 1 } })
      yield* fake.scriptFor("main-model", { text: "n", usage: { prompt: 300, completion: 20 } }, {
        text: "Hello!",
        usage: { prompt: 330, completion: 9 }
      })
      const annotations: Array<HashMap.HashMap<string, unknown>> = []
      const capture = Logger.make(({ annotations: a, message }) => {
        if (String(message).includes("dialog answered")) annotations.push(a)
      })
      yield* runUpdates([textMessage({ userId: 504, text: "hi" })]).pipe(
        Effect.provide(bot(fake)),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      expect(annotations).toHaveLength(1)
      const get = (key: string) => Option.getOrUndefined(HashMap.get(annotations[0]!, key))
      expect([get("classify_prompt_tokens"), get("classify_completion_tokens")]).toEqual([120, 1])
      expect([get("think_prompt_tokens"), get("think_completion_tokens")]).toEqual([300, 20])
      expect([get("synthesize_prompt_tokens"), get("synthesize_completion_tokens")]).toEqual([330, 9])
      expect([get("prompt_tokens"), get("completion_tokens")]).toEqual([750, 30])
    }))
})

describe("a dialog whose model endpoint is down", () => {
  it.scopedLive("answering 503 for a while: the turn waits for it and sends its real answer, no fallback, no apology", () =>
    Effect.gen(function*() {
      const endpoint = { down: true }
      const fake = yield* makeFakeOpenAi({ fallback: (r) => (endpoint.down ? { status: 503 } : answers(r)) })
      const run = yield* Effect.fork(runUpdates([textMessage({ userId: 505, text: "hello?" })]).pipe(
        Effect.provide(bot(fake, { maxRetries: 1, backoffBase: Duration.millis(5) }, {
          dispatcher: { updateDeadline: Duration.seconds(5) }
        }))
      ))
      // The breaker opened (three calls failed) and its probes come one at a time.
      yield* eventually(fake.requests, (requests) => requests.length >= 8, "30 seconds")
      endpoint.down = false
      const sent = yield* Fiber.join(run)
      expect(textsTo(sent, 505)).toEqual(["The real answer."])
    }), 60_000)

  it.scopedLive("down past OUTAGE_PATIENCE: the apology, the update stays pending, then its answer once the endpoint is back", () =>
    Effect.gen(function*() {
      const endpoint = { down: true }
      const fake = yield* makeFakeOpenAi({ fallback: (r) => (endpoint.down ? { status: 500 } : answers(r)) })
      const update = textMessage({ userId: 509, text: "hello?" })
      yield* Effect.gen(function*() {
        const recorder = yield* TelegramRecorder
        const inbox = yield* Inbox
        const run = yield* Effect.fork(runUpdates([update]))
        const early = yield* eventually(recorder.sent, (sent) => textsTo(sent, 509).length > 0, "30 seconds")
        expect(textsTo(early, 509)).toEqual([apology])
        const entry = yield* inbox.entry(TelegramId.make(update.update_id))
        expect(Option.map(entry, (e) => e.status)).toEqual(Option.some("pending"))
        endpoint.down = false
        yield* Fiber.join(run)
        expect(textsTo(yield* recorder.sent, 509)).toEqual([apology, "The real answer."])
        const done = yield* inbox.entry(TelegramId.make(update.update_id))
        expect(Option.map(done, (e) => e.status)).toEqual(Option.some("done"))
      }).pipe(
        Effect.provide(bot(fake, { maxRetries: 0 }, {
          dispatcher: { updateDeadline: Duration.seconds(5), outagePatience: Duration.seconds(1) }
        }))
      )
    }), 60_000)

  it.scopedLive("an endpoint that never answers: the update deadline sends the apology and cancels the request", () =>
    Effect.gen(function*() {
      const fake: FakeOpenAi = yield* makeFakeOpenAi({ fallback: () => ({ hang: true }) })
      const sent = yield* runUpdates([textMessage({ userId: 506, text: "hello?" })]).pipe(
        Effect.provide(bot(fake, { timeout: Duration.seconds(30) }, { dispatcher: { updateDeadline: Duration.millis(400) } }))
      )
      expect(textsTo(sent, 506)).toEqual([apology])
      yield* fake.waitForAborted(1).pipe(Effect.timeout("5 seconds"))
      expect((yield* fake.requests).length).toBe(1)
    }))

  it.scopedLive("an endpoint that refuses the request (400) is not waited for: the fallbacks, then the apology", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi({ fallback: () => ({ status: 400 }) })
      const sent = yield* runUpdates([textMessage({ userId: 507, text: "hello?" })]).pipe(
        Effect.provide(bot(fake, { maxRetries: 2 }, { dispatcher: { updateDeadline: Duration.seconds(5) } }))
      )
      expect(textsTo(sent, 507)).toEqual([apology])
      // classify, think, synthesize and the plain generation: each asked once, none retried or waited for.
      expect((yield* fake.requests).length).toBe(4)
    }))
})
