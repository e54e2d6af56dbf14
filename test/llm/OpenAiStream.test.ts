import { describe, expect, it } from "@effect/vitest"
import { Chunk, Context, Effect, Exit, Fiber, Layer, Stream } from "effect"
import { type CompletionChunk, type CompletionRequest, LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelScripted } from "../../src/llm/ScriptedModel.ts"
import { collectStream, streamCompletion } from "../../src/llm/streaming.ts"
import { makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"

const buildModel = (fake: { readonly url: string }) =>
  Effect.map(Layer.build(openAiLayerFor(fake)), (context) => Context.get(context, LanguageModel))

const ask: CompletionRequest = {
  purpose: "synthesize",
  messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "hello" }]
}

const deltas = (chunks: ReadonlyArray<CompletionChunk>) => chunks.flatMap((c) => (c._tag === "TextDelta" ? [c.text] : []))

describe("streamed completions of the live model (the openai SDK over SSE)", () => {
  it.scopedLive("text deltas as the fake sends them, then the usage of the last chunk", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ chunks: ["**Hel", "lo**", " there"] })
      const model = yield* buildModel(fake)
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(streamCompletion(model, ask)))
      expect(deltas(chunks)).toEqual(["**Hel", "lo**", " there"])
      expect(chunks.at(-1)).toEqual({ _tag: "Finished", usage: { promptTokens: 11, completionTokens: 3 }, model: "gpt-4o-mini" })
      const [request] = yield* fake.requests
      expect(request?.body["stream"]).toBe(true)
      expect(request?.body["stream_options"]).toEqual({ include_usage: true })
    }))

  it.scopedLive("a failure before the first chunk is retried by the model's policy", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ status: 503 }, { chunks: ["ok"] })
      const model = yield* buildModel(fake)
      const response = yield* collectStream(streamCompletion(model, ask))
      expect(response.text).toBe("ok")
      expect(yield* fake.requests).toHaveLength(2)
    }))

  it.scopedLive("a stream cut after its first chunk fails and is not asked again", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ chunks: ["Half an ans"], everyMs: 200, cut: true }, { chunks: ["never asked"] })
      const model = yield* buildModel(fake)
      const seen: Array<string> = []
      const exit = yield* Effect.exit(collectStream(streamCompletion(model, ask), (soFar) => Effect.sync(() => void seen.push(soFar))))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(exit).toMatchObject({ cause: { error: { _tag: "LanguageModelError", purpose: "synthesize" } } })
      expect(seen).toEqual(["Half an ans"])
      expect(yield* fake.requests).toHaveLength(1)
    }))

  it.scopedLive("interrupting the reader aborts the request", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      yield* fake.script({ chunks: ["first", " second", " third"], everyMs: 60_000 })
      const model = yield* buildModel(fake)
      const fiber = yield* Effect.fork(Stream.runDrain(streamCompletion(model, ask)))
      yield* fake.waitForRequests(1)
      yield* Fiber.interrupt(fiber)
      yield* fake.waitForAborted(1)
      expect(yield* fake.aborted).toBe(1)
    }))
})

describe("streamed completions of the scripted model", () => {
  it.effect("chunks from the same script; a failure after some text", () =>
    Effect.gen(function*() {
      const model = yield* LanguageModel
      const first = yield* collectStream(streamCompletion(model, ask))
      expect(first.text).toBe("Hello there, friend.")
      const chunks = Chunk.toReadonlyArray(yield* Stream.runCollect(streamCompletion(model, ask)))
      expect(deltas(chunks)).toEqual(["a", "b"])
      const failed = yield* Effect.flip(collectStream(streamCompletion(model, ask)))
      expect(failed.message).toBe("lost")
    }).pipe(
      Effect.provide(LanguageModelScripted({
        synthesize: ["Hello there, friend.", { chunks: ["a", "b"] }, { chunks: ["c"], failAfter: "lost" }]
      }))
    ))
})
