/**
 * Streamed completions of the live model: the `openai` SDK's `stream: true` with
 * `stream_options.include_usage`, so the last chunk carries the usage. Opening the stream and
 * reading its first chunk is one attempt, retried by the model's one retry policy; once a chunk
 * arrived nothing is retried (the text is on its way to the user). The request is aborted when
 * the call ends early or its fiber is interrupted; a pause between chunks longer than the
 * model's timeout fails it, and so does a stream that ends with neither a finish reason nor
 * the usage (a connection cut short). Chunks are decoded with a Schema, leniently like whole responses.
 *
 * After the first chunk the response is read by a plain loop (decode, add the text, tell
 * `onText`, re-arm the pause timer) and the call resumes once at the end: an Effect step or a
 * `Stream` element per chunk costs several times the CPU of the HTTP exchange itself, and a
 * real answer comes in hundreds of chunks.
 */
import type OpenAI from "openai"
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions"
import { Duration, Effect, Either, Option, ParseResult, type Schedule, Schema } from "effect"
import { type CompletionResponse, type LanguageModelError, noUsage, type OnText, type Usage } from "./LanguageModel.ts"
import { usageOf, WireUsage } from "./OpenAiWire.ts"
import { failureOf, isOutage, type ModelCallFailed, noAnswerWithin, sdkAttempt } from "./OpenAiRetry.ts"
import { retryLazily } from "../effect/retryLazily.ts"

const WireChunk = Schema.Struct({
  model: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
    finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
    delta: Schema.optional(Schema.NullOr(Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      refusal: Schema.optional(Schema.NullOr(Schema.String))
    })))
  })))),
  usage: Schema.optional(Schema.NullOr(WireUsage))
})
type WireChunk = typeof WireChunk.Type

/** A chunk as the endpoint sent it, read with the Schema. */
export const decodeChunk = Schema.decodeUnknownEither(WireChunk)

/** The text a chunk adds (its content, or a refusal). */
const textOf = (chunk: WireChunk): string => {
  const delta = chunk.choices?.[0]?.delta
  return delta?.content ?? delta?.refusal ?? ""
}

export interface StreamDeps {
  readonly client: OpenAI
  readonly timeout: Duration.Duration
  /** The model's retry policy, with its logging and metrics. */
  readonly schedule: Schedule.Schedule<unknown, ModelCallFailed>
  /** A failure as the error callers see (the key scrubbed). */
  readonly fail: (message: string, status?: Option.Option<number>, outage?: boolean) => LanguageModelError
}

/** A completion streamed with the body `params`, its text told to `onText` as it grows. */
export const openAiStream = (
  deps: StreamDeps,
  params: ChatCompletionCreateParamsNonStreaming,
  onText: OnText
): Effect.Effect<CompletionResponse, LanguageModelError> =>
  Effect.scoped(Effect.gen(function*() {
    const timeoutMs = Duration.toMillis(deps.timeout)
    /** One attempt: the request, and its first chunk. */
    const open = sdkAttempt(timeoutMs, async (signal) => {
      const stream = await deps.client.chat.completions.create(
        { ...params, stream: true, stream_options: { include_usage: true } },
        { signal, maxRetries: 0 }
      )
      const iterator = stream[Symbol.asyncIterator]()
      return { stream, iterator, first: await iterator.next() }
    })

    const opened = yield* Effect.uninterruptibleMask((restore) =>
      restore(retryLazily(open, deps.schedule)).pipe(
        Effect.tap(({ stream }) => Effect.addFinalizer(() => Effect.sync(() => stream.controller.abort())))
      )
    ).pipe(Effect.mapError((failure) => deps.fail(failure.message, failure.status, isOutage(failure))))

    return yield* Effect.async<CompletionResponse, LanguageModelError>((resume) => {
      let text = ""
      let usage: Usage = noUsage
      let model = params.model
      // A connection that ends without a finish reason or usage is an answer cut short.
      let ended = false
      let over = false
      let timer: ReturnType<typeof setTimeout> | undefined
      const settle = (result: Either.Either<CompletionResponse, LanguageModelError>) => {
        if (over) return
        over = true
        clearTimeout(timer)
        resume(Either.isRight(result) ? Effect.succeed(result.right) : Effect.fail(result.left))
      }
      const fail = (message: string) => settle(Either.left(deps.fail(message)))
      const arm = () => {
        clearTimeout(timer)
        // The scope's finalizer aborts the request once the call has failed.
        timer = setTimeout(() => fail(noAnswerWithin(timeoutMs).message), timeoutMs)
      }
      /** One chunk read: its text added and shown; false once the call has failed. */
      const take = (value: unknown): boolean => {
        const decoded = decodeChunk(value)
        if (Either.isLeft(decoded)) {
          fail(`unreadable chunk: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`)
          return false
        }
        const chunk = decoded.right
        if (chunk.usage || chunk.choices?.some((c) => typeof c.finish_reason === "string")) ended = true
        // OpenAI sends the usage in a last chunk of its own, whose `choices` is empty.
        if (chunk.usage) usage = usageOf(chunk.usage)
        if (typeof chunk.model === "string" && chunk.model !== "") model = chunk.model
        const delta = textOf(chunk)
        if (delta !== "") {
          text += delta
          onText(text)
        }
        return true
      }
      const read = async () => {
        if (opened.first.done !== true) {
          if (!take(opened.first.value)) return
          arm()
          for (;;) {
            const next = await opened.iterator.next()
            if (over) return
            if (next.done === true) break
            if (!take(next.value)) return
            arm()
          }
        }
        if (!ended) return fail("the stream ended before the answer did")
        settle(Either.right({ text, toolCalls: [], usage, model }))
      }
      read().catch((error: unknown) => fail(failureOf(error, Date.now()).message))
      // Interrupted: the loop stops at its next chunk, the scope's finalizer aborts the request.
      return Effect.sync(() => {
        over = true
        clearTimeout(timer)
      })
    })
  }))
