/**
 * Streamed completions of the live model: the `openai` SDK's `stream: true` with
 * `stream_options.include_usage`, so the last chunk carries the usage. Opening the stream and
 * reading its first chunk is one attempt, retried by the model's one retry policy; once a chunk
 * arrived nothing is retried (the text is on its way to the user). The request is aborted when
 * the stream ends early or its fiber is interrupted; a pause between chunks longer than the
 * model's timeout fails it, and so does a stream that ends with neither a finish reason nor
 * the usage (a connection cut short). Chunks are decoded with a Schema, leniently like whole responses.
 */
import type OpenAI from "openai"
import type { ChatCompletionChunk, ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions"
import { Duration, Effect, Either, Option, ParseResult, type Schedule, Schema, Stream } from "effect"
import type { CompletionChunk, LanguageModelError, Usage } from "./LanguageModel.ts"
import { failureOf, ModelCallFailed } from "./OpenAiRetry.ts"

const WireChunk = Schema.Struct({
  model: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.optional(Schema.NullOr(Schema.Array(Schema.Struct({
    finish_reason: Schema.optional(Schema.NullOr(Schema.String)),
    delta: Schema.optional(Schema.NullOr(Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      refusal: Schema.optional(Schema.NullOr(Schema.String))
    })))
  })))),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    completion_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  })))
})
type WireChunk = typeof WireChunk.Type

/** A chunk as the endpoint sent it, read with the Schema. */
export const decodeChunk = Schema.decodeUnknownEither(WireChunk)

const count = (n: number | null | undefined) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.round(n) : 0)

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
  readonly fail: (message: string, status?: Option.Option<number>) => LanguageModelError
}

/** A completion streamed with the body `params`. */
export const openAiStream = (
  deps: StreamDeps,
  params: ChatCompletionCreateParamsNonStreaming
): Stream.Stream<CompletionChunk, LanguageModelError> =>
  Stream.unwrapScoped(Effect.gen(function*() {
    const timeoutMs = Duration.toMillis(deps.timeout)
    const noAnswer = () =>
      new ModelCallFailed({
        message: `no answer within ${timeoutMs} ms`,
        retryable: true,
        status: Option.none(),
        retryAfter: Option.none()
      })
    /** One attempt: the request, and its first chunk. */
    const open = Effect.tryPromise({
      try: async (signal) => {
        const stream = await deps.client.chat.completions.create(
          { ...params, stream: true, stream_options: { include_usage: true } },
          { signal, maxRetries: 0 }
        )
        const iterator = stream[Symbol.asyncIterator]()
        return { stream, iterator, first: await iterator.next() }
      },
      catch: (error) => failureOf(error, Date.now())
    }).pipe(Effect.timeoutFail({ duration: deps.timeout, onTimeout: noAnswer }))

    const opened = yield* Effect.uninterruptibleMask((restore) =>
      restore(Effect.retry(open, deps.schedule)).pipe(
        Effect.tap(({ stream }) => Effect.addFinalizer(() => Effect.sync(() => stream.controller.abort())))
      )
    ).pipe(Effect.mapError((failure) => deps.fail(failure.message, failure.status)))

    let usage: Usage = { promptTokens: 0, completionTokens: 0 }
    let model = params.model
    // A connection that ends without a finish reason or usage is an answer cut short.
    let ended = false
    const rest: AsyncIterable<ChatCompletionChunk> = { [Symbol.asyncIterator]: () => opened.iterator }
    const raw = opened.first.done === true
      ? Stream.empty
      : Stream.concat(
        Stream.make(opened.first.value),
        Stream.fromAsyncIterable(rest, (error) => deps.fail(failureOf(error, Date.now()).message))
      )
    const chunks = raw.pipe(
      Stream.timeoutFail(() => deps.fail(noAnswer().message), deps.timeout),
      Stream.mapEffect((value) =>
        Either.match(decodeChunk(value), {
          onLeft: (error) => Effect.fail(deps.fail(`unreadable chunk: ${ParseResult.TreeFormatter.formatErrorSync(error)}`)),
          onRight: (chunk) => {
            if (chunk.usage || chunk.choices?.some((c) => typeof c.finish_reason === "string")) ended = true
            if (chunk.usage) {
              usage = { promptTokens: count(chunk.usage.prompt_tokens), completionTokens: count(chunk.usage.completion_tokens) }
            }
            if (typeof chunk.model === "string" && chunk.model !== "") model = chunk.model
            return Effect.succeed(textOf(chunk))
          }
        })
      ),
      Stream.filter((text) => text !== ""),
      Stream.map((text): CompletionChunk => ({ _tag: "TextDelta", text }))
    )
    const finished = Effect.suspend(() =>
      ended
        ? Effect.succeed<CompletionChunk>({ _tag: "Finished", usage, model })
        : Effect.fail(deps.fail("the stream ended before the answer did"))
    )
    return Stream.concat(chunks, Stream.fromEffect(finished))
  }))
