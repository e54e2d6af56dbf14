/**
 * Streamed completions over any `LanguageModel`: its own `stream` when it has one, else its
 * `complete` answered in word-sized pieces, so callers read every model the same way.
 */
import { Effect, Stream } from "effect"
import type { CompletionChunk, CompletionRequest, CompletionResponse, LanguageModelError, LanguageModelService } from "./LanguageModel.ts"

/** A text in the pieces a model streams: each word with the whitespace after it. */
export const wordPieces = (text: string): ReadonlyArray<string> => text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text])

/** A whole response as the chunks of a stream: its text word by word, then `Finished`. */
export const chunksOf = (response: CompletionResponse): ReadonlyArray<CompletionChunk> => [
  ...wordPieces(response.text ?? "").map((text): CompletionChunk => ({ _tag: "TextDelta", text })),
  { _tag: "Finished", usage: response.usage, model: response.model }
]

/** The completion of `request` streamed by `model`. */
export const streamCompletion = (
  model: LanguageModelService,
  request: CompletionRequest
): Stream.Stream<CompletionChunk, LanguageModelError> =>
  model.stream !== undefined
    ? model.stream(request)
    : Stream.flatMap(Stream.fromEffect(model.complete(request)), (response) => Stream.fromIterable(chunksOf(response)))

/** The response a stream adds up to: its text and its `Finished` usage. */
export const collectStream = (
  stream: Stream.Stream<CompletionChunk, LanguageModelError>,
  onText: (soFar: string) => Effect.Effect<void> = () => Effect.void
): Effect.Effect<CompletionResponse, LanguageModelError> =>
  Stream.runFoldEffect(
    stream,
    { text: "", toolCalls: [], usage: { promptTokens: 0, completionTokens: 0 }, model: "" } as CompletionResponse & { text: string },
    (acc, chunk) =>
      chunk._tag === "TextDelta"
        ? Effect.as(onText(acc.text + chunk.text), { ...acc, text: acc.text + chunk.text })
        : Effect.succeed({ ...acc, usage: chunk.usage, model: chunk.model })
  )
