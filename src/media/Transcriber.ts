/**
 * Speech to text: voice notes, audio files and video notes into words. The service and its
 * error are here; the endpoint that does it (the `openai` SDK against the configured model
 * endpoint) is `OpenAiTranscriber.ts`, imported only when a model endpoint is configured: the
 * SDK is 154 modules that the offline model, which transcribes nothing, never needs.
 */
import { Context, Effect, Layer, Schema } from "effect"

/** The transcription failed: the endpoint failed, timed out or answered without text. */
export class TranscriptionError extends Schema.TaggedError<TranscriptionError>()("TranscriptionError", {
  message: Schema.String
}) {}

export interface Recording {
  readonly bytes: Uint8Array
  /** A file name whose extension names the format (`voice.oga`, `note.mp4`): the endpoint goes by it. */
  readonly fileName: string
  readonly mimeType?: string | undefined
}

export interface TranscriberService {
  /** The words of a recording (trimmed; empty when nothing was said). */
  readonly transcribe: (recording: Recording) => Effect.Effect<string, TranscriptionError>
}

export class Transcriber extends Context.Tag("dialog-bot/Transcriber")<Transcriber, TranscriberService>() {}

/** No transcription endpoint (tests, embedding without a model): every transcription fails. */
export const TranscriberUnavailable: Layer.Layer<Transcriber> = Layer.succeed(
  Transcriber,
  Transcriber.of({
    transcribe: () => Effect.fail(new TranscriptionError({ message: "no transcription endpoint is configured" }))
  })
)
