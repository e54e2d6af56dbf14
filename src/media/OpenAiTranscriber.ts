/**
 * Speech to text through the OpenAI-compatible `/audio/transcriptions` endpoint (the `openai`
 * SDK, multipart), at the model endpoint the bot is configured with (`OPENAI_BASE_URL`,
 * `OPENAI_API_KEY`) and with the model `TRANSCRIBE_MODEL`. Transient failures are retried with
 * the model calls' one retry policy (`OpenAiRetry.ts`); the request gets the fiber's
 * `AbortSignal`. The key never appears in an error.
 */
import OpenAI, { toFile } from "openai"
import { Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { keepAliveFetch } from "../http/keepAliveFetch.ts"
import { LlmConfig, type LlmConfigShape, publicEndpoint } from "../llm/LlmConfig.ts"
import { placeholderKey, scrub } from "../llm/OpenAiModel.ts"
import { noUsage, type Usage } from "../llm/LanguageModel.ts"
import { countTokens } from "../llm/LlmMetrics.ts"
import { failureOf, ModelCallFailed, retrySchedule } from "../llm/OpenAiRetry.ts"
import { countUsage } from "../llm/TurnUsage.ts"
import { annotateSpan, withSpan } from "../observability/span.ts"
import { MediaConfig, type MediaConfigShape } from "./MediaConfig.ts"
import { type Recording, Transcriber, TranscriptionError } from "./Transcriber.ts"

/**
 * The endpoint's answer. Token-billed models (`gpt-4o-transcribe`) report `usage` of type
 * `tokens` (audio and text in, text out); duration-billed ones (`whisper-1`) report seconds,
 * which are no tokens and count as none.
 */
const Transcription = Schema.Struct({
  text: Schema.String,
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    type: Schema.optional(Schema.String),
    input_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    output_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  })))
})
const tokenCount = (n: number | null | undefined) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.round(n) : 0)

/** The tokens a transcription reported (none when it reported seconds or nothing). */
const transcriptionUsage = (usage: typeof Transcription.Type["usage"]): Usage =>
  usage == null || (usage.type !== undefined && usage.type !== "tokens")
    ? noUsage
    : { ...noUsage, promptTokens: tokenCount(usage.input_tokens), completionTokens: tokenCount(usage.output_tokens) }

const decodeTranscription = Schema.decodeUnknownEither(Transcription, { onExcessProperty: "ignore" })

export const makeOpenAiTranscriber = (llm: LlmConfigShape, media: MediaConfigShape) =>
  Effect.gen(function*() {
    const client = yield* Effect.sync(() =>
      new OpenAI({
        apiKey: Option.match(llm.apiKey, { onNone: () => placeholderKey, onSome: Redacted.value }),
        baseURL: Option.getOrElse(llm.baseUrl, () => publicEndpoint(llm)),
        maxRetries: 0,
        timeout: Math.ceil(Duration.toMillis(media.transcribeTimeout)) + 1000,
        logLevel: "off",
        fetch: keepAliveFetch
      })
    )
    const attempt = (recording: Recording) =>
      Effect.tryPromise({
        try: async (signal) =>
          client.audio.transcriptions.create(
            {
              file: await toFile(recording.bytes, recording.fileName, {
                ...(recording.mimeType === undefined ? {} : { type: recording.mimeType })
              }),
              model: media.transcribeModel
            },
            { signal, maxRetries: 0 }
          ),
        catch: (error) => failureOf(error, Date.now())
      }).pipe(
        Effect.timeoutFail({
          duration: media.transcribeTimeout,
          onTimeout: () =>
            new ModelCallFailed({
              message: `no transcription within ${Duration.format(media.transcribeTimeout)}`,
              retryable: true,
              status: Option.none(),
              retryAfter: Option.none()
            })
        })
      )

    const counted = (usage: Usage) =>
      Effect.zipRight(countTokens("transcribe", media.transcribeModel, usage), countUsage("transcribe", media.transcribeModel, usage))

    const transcribe = (recording: Recording): Effect.Effect<string, TranscriptionError> =>
      attempt(recording).pipe(
        Effect.retry(retrySchedule(llm)),
        Effect.mapError((failure) => new TranscriptionError({ message: scrub(failure.message, llm.apiKey) })),
        Effect.flatMap((raw) => {
          const decoded = decodeTranscription(raw)
          return decoded._tag === "Left"
            ? Effect.fail(new TranscriptionError({ message: "the transcription endpoint answered without text" }))
            : Effect.as(counted(transcriptionUsage(decoded.right.usage)), decoded.right.text.trim())
        }),
        Effect.tap((text) => annotateSpan({ bytes: recording.bytes.length, characters: text.length })),
        withSpan("media.transcribe", { kind: "client", attributes: { model: media.transcribeModel } })
      )
    return Transcriber.of({ transcribe })
  })

/** The transcriber on the model endpoint's settings and the media settings. */
export const TranscriberOpenAi: Layer.Layer<Transcriber, never, LlmConfig | MediaConfig> = Layer.effect(
  Transcriber,
  Effect.flatMap(Effect.all([LlmConfig, MediaConfig]), ([llm, media]) => makeOpenAiTranscriber(llm, media))
)

