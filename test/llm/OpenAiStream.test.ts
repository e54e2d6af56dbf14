import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer } from "effect"
import { type CompletionRequest, LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelScripted } from "../../src/llm/ScriptedModel.ts"
import { streamCompletion } from "../../src/llm/streaming.ts"
import { makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"

const buildModel = (fake: { readonly url: string }) =>
  Effect.map(Layer.build(openAiLayerFor(fake)), (context) => Context.get(context, LanguageModel))

const ask: CompletionRequest = {
  purpose: "synthesize",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hello" }]
}

/** What `onText` was told, in order. */
const recorder = () => {
  const seen: Array<string> = []
  return { seen, onText: (soFar: string) => void seen.push(soFar) }
}

describe("streamed completions of the live model (the openai SDK over SSE)", () => {
  it.scopedLive("the text as the fake sends it, then the whole answer with the usage of the last chunk", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ chunks: ["**Hel", "lo**", " there"] })
      const model = yield* buildModel(fake)
      const { onText, seen } = recorder()
      const response = yield* streamCompletion(model, ask, onText)
      expect(seen).toEqual(["**Hel", "**Hello**", "**Hello** there"])
      expect(response).toEqual({ text: "**Hello** there", toolCalls: [], usage: { promptTokens: 11, completionTokens: 3, cachedPromptTokens: 0, reasoningTokens: 0 }, model: "gpt-4o-mini" })
      const [request] = yield* fake.requests
      expect(request?.body["stream"]).toBe(true)
      expect(request?.body["stream_options"]).toEqual({ include_usage: true })
    }))

  it.scopedLive("cached prompt and reasoning tokens are read from the last chunk, whose choices are empty", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ text: "Fine, thanks.", usage: { prompt: 1200, completion: 40, cached: 1024, reasoning: 16 } })
      const model = yield* buildModel(fake)
      const response = yield* streamCompletion(model, ask, recorder().onText)
      expect(response.text).toBe("Fine, thanks.")
      expect(response.usage).toEqual({ promptTokens: 1200, completionTokens: 40, cachedPromptTokens: 1024, reasoningTokens: 16 })
    }))

  it.scopedLive("a failure before the first chunk is retried by the model's policy", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ status: 503 }, { chunks: ["ok"] })
      const model = yield* buildModel(fake)
      const response = yield* streamCompletion(model, ask)
      expect(response.text).toBe("ok")
      expect(yield* fake.requests).toHaveLength(2)
    }))

  it.scopedLive("a stream cut after its first chunk fails and is not asked again", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ chunks: ["Half an ans"], everyMs: 200, cut: true }, { chunks: ["never asked"] })
      const model = yield* buildModel(fake)
      const { onText, seen } = recorder()
      const exit = yield* Effect.exit(streamCompletion(model, ask, onText))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(exit).toMatchObject({ cause: { error: { _tag: "LanguageModelError", purpose: "synthesize" } } })
      expect(seen).toEqual(["Half an ans"])
      expect(yield* fake.requests).toHaveLength(1)
    }))

  it.scopedLive("a pause between chunks longer than the model's timeout fails the call and aborts the request", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ chunks: ["first", " second"], firstMs: 0, everyMs: 1_500 })
      const model = yield* Effect.map(
        Layer.build(openAiLayerFor(fake, { timeout: Duration.seconds(1), maxRetries: 0 })),
        (context) => Context.get(context, LanguageModel)
      )
      const { onText, seen } = recorder()
      const failure = yield* Effect.flip(streamCompletion(model, ask, onText))
      expect(failure.message).toBe("no answer within 1000 ms")
      expect(seen).toEqual(["first"])
      yield* fake.waitForAborted(1)
      expect(yield* fake.requests).toHaveLength(1)
    }))

  it.scopedLive("interrupting the call aborts the request", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ chunks: ["first", " second", " third"], everyMs: 60_000 })
      const model = yield* buildModel(fake)
      const fiber = yield* Effect.fork(streamCompletion(model, ask))
      yield* fake.waitForRequests(1)
      yield* Fiber.interrupt(fiber)
      yield* fake.waitForAborted(1)
      expect(yield* fake.aborted).toBe(1)
    }))
})

describe("streamed completions of the scripted model", () => {
  it.effect("pieces from the same script; a failure after some text", () =>
    Effect.gen(function*() {
      const model = yield* LanguageModel
      const first = recorder()
      expect((yield* streamCompletion(model, ask, first.onText)).text).toBe("Hello there, friend.")
      expect(first.seen).toEqual(["Hello ", "Hello there, ", "Hello there, friend."])
      const second = recorder()
      expect((yield* streamCompletion(model, ask, second.onText)).text).toBe("ab")
      expect(second.seen).toEqual(["a", "ab"])
      const failed = yield* Effect.flip(streamCompletion(model, ask))
      expect(failed.message).toBe("lost")
    }).pipe(
      Effect.provide(LanguageModelScripted({
        synthesize: ["Hello there, friend.", { chunks: ["a", "b"] }, { chunks: ["c"], failAfter: "lost" }]
      }))
    ))
})
