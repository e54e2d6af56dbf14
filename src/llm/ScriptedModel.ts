/**
 * A model that answers from a script, for tests: replies and tool calls per purpose, failures
 * and delays, and a record of every request so a test can assert on what was asked. A request
 * with nothing left in its script fails loudly with a `LanguageModelError` naming the purpose.
 * Streamed requests take their replies from the same script: a text comes word by word, and
 * `chunks` sets the pieces, the pause before each and a failure after them.
 */
import { Context, Duration, Effect, Layer, Ref } from "effect"
import { extractiveSummary } from "./summaryText.ts"
import { showWords } from "./streaming.ts"
import {
  type CompletionRequest,
  type CompletionResponse,
  LanguageModel,
  LanguageModelError,
  type OnText,
  type Purpose,
  type ToolCall
} from "./LanguageModel.ts"
import { callSpan } from "./callSpan.ts"

export type ScriptedToolCall = {
  readonly name: string
  /** An object is sent as its JSON; a string is sent as it is (to script malformed arguments). */
  readonly arguments?: Record<string, unknown> | string
  readonly id?: string
}

export type ScriptedReply =
  | string
  | { readonly text?: string | null; readonly toolCalls?: ReadonlyArray<ScriptedToolCall> }
  | { readonly fail: string }
  | { readonly delay: Duration.DurationInput; readonly then: ScriptedReply }
  /** Streamed in these pieces, each after `every` (none by default), then failing when `failAfter` is set. */
  | { readonly chunks: ReadonlyArray<string>; readonly every?: Duration.DurationInput; readonly failAfter?: string }
  | ((request: CompletionRequest) => ScriptedReply)

export type Script = { readonly [P in Purpose]?: ReadonlyArray<ScriptedReply> }

export interface ScriptedModelService {
  /** Every request received, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<CompletionRequest>>
  /** Appends replies to the script of a purpose. */
  readonly push: (purpose: Purpose, ...replies: ReadonlyArray<ScriptedReply>) => Effect.Effect<void>
}

export class ScriptedModel extends Context.Tag("dialog-bot/ScriptedModel")<ScriptedModel, ScriptedModelService>() {}

export const makeScriptedModel = (script: Script = {}) =>
  Effect.gen(function*() {
    const requests = yield* Ref.make<ReadonlyArray<CompletionRequest>>([])
    const queues = yield* Ref.make<Record<Purpose, ReadonlyArray<ScriptedReply>>>({
      classify: script.classify ?? [],
      think: script.think ?? [],
      synthesize: script.synthesize ?? [],
      summary: script.summary ?? []
    })
    let callIds = 0

    const answer = (
      request: CompletionRequest,
      reply: ScriptedReply
    ): Effect.Effect<CompletionResponse, LanguageModelError> => {
      if (typeof reply === "function") return answer(request, reply(request))
      if (typeof reply === "string") return Effect.succeed(result(reply, []))
      if ("fail" in reply) {
        return Effect.fail(new LanguageModelError({ purpose: request.purpose, message: reply.fail }))
      }
      if ("delay" in reply) return Effect.zipRight(Effect.sleep(reply.delay), answer(request, reply.then))
      if ("chunks" in reply) {
        return reply.failAfter === undefined
          ? Effect.succeed(result(reply.chunks.join(""), []))
          : Effect.fail(new LanguageModelError({ purpose: request.purpose, message: reply.failAfter }))
      }
      const calls: ReadonlyArray<ToolCall> = (reply.toolCalls ?? []).map((c) => ({
        id: c.id ?? `call_${++callIds}`,
        name: c.name,
        arguments: typeof c.arguments === "string" ? c.arguments : JSON.stringify(c.arguments ?? {})
      }))
      return Effect.succeed(result(reply.text ?? null, calls))
    }
    const result = (text: string | null, toolCalls: ReadonlyArray<ToolCall>): CompletionResponse => ({
      text,
      toolCalls,
      model: "scripted",
      usage: { promptTokens: 10, completionTokens: 5, cachedPromptTokens: 0, reasoningTokens: 0 }
    })

    /** Records the request and takes the next reply of its purpose. */
    const nextReply = (request: CompletionRequest) =>
      Effect.gen(function*() {
        yield* Ref.update(requests, (all) => [...all, request])
        const next = yield* Ref.modify(queues, (q) => {
          const [head, ...rest] = q[request.purpose]
          return [head, { ...q, [request.purpose]: rest }]
        })
        // A conversation's summary nobody scripted: the offline model's extractive one, so that
        // tests of long conversations need not script the folds they do not look at.
        if (next === undefined && request.purpose === "summary") return extractiveSummary(request.messages)
        if (next === undefined) {
          return yield* Effect.fail(
            new LanguageModelError({ purpose: request.purpose, message: `script has no reply left for ${request.purpose}` })
          )
        }
        return next
      })

    const streamed = (request: CompletionRequest, reply: ScriptedReply, onText: OnText): Effect.Effect<CompletionResponse, LanguageModelError> => {
      if (typeof reply === "function") return streamed(request, reply(request), onText)
      if (typeof reply === "object" && "delay" in reply) return Effect.zipRight(Effect.sleep(reply.delay), streamed(request, reply.then, onText))
      if (typeof reply === "object" && "chunks" in reply) {
        const pause = reply.every === undefined ? Effect.void : Effect.sleep(reply.every)
        const shown = Effect.reduce(reply.chunks, "", (soFar, piece) =>
          Effect.zipRight(pause, Effect.sync(() => {
            onText(soFar + piece)
            return soFar + piece
          })))
        return Effect.flatMap(shown, (text) =>
          reply.failAfter === undefined
            ? Effect.succeed(result(text, []))
            : Effect.fail(new LanguageModelError({ purpose: request.purpose, message: reply.failAfter })))
      }
      return Effect.tap(answer(request, reply), (response) => Effect.sync(() => showWords(response.text ?? "", onText)))
    }

    const model = LanguageModel.of({
      description: "scripted (tests)",
      stream: (request, onText) =>
        Effect.flatMap(nextReply(request), (reply) => streamed(request, reply, onText)).pipe(callSpan(request.purpose, "scripted", true)),
      complete: (request) =>
        Effect.flatMap(nextReply(request), (next) => answer(request, next)).pipe(callSpan(request.purpose, "scripted"))
    })
    const control = ScriptedModel.of({
      requests: Ref.get(requests),
      push: (purpose, ...replies) => Ref.update(queues, (q) => ({ ...q, [purpose]: [...q[purpose], ...replies] }))
    })
    return { model, control }
  })

/** Provides `LanguageModel` and `ScriptedModel` (to push replies and read requests). */
export const LanguageModelScripted = (script: Script = {}) =>
  Layer.effectContext(
    Effect.map(makeScriptedModel(script), ({ control, model }) =>
      Context.make(LanguageModel, model).pipe(Context.add(ScriptedModel, control)))
  )
