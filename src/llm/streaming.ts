/**
 * Streamed completions over any `LanguageModel`: its own `stream` when it has one, else its
 * `complete`, shown whole once it is there, so callers read every model the same way.
 */
import { Effect } from "effect"
import type { CompletionRequest, CompletionResponse, LanguageModelError, OnText } from "./LanguageModel.ts"

/** A text in the pieces a model streams: each word with the whitespace after it. */
export const wordPieces = (text: string): ReadonlyArray<string> => text.match(/\s*\S+\s*/g) ?? (text === "" ? [] : [text])

/** Shows `text` to `onText` as a model streams it: growing word by word. */
export const showWords = (text: string, onText: OnText): void => {
  let soFar = ""
  for (const piece of wordPieces(text)) {
    soFar += piece
    onText(soFar)
  }
}

const ignore: OnText = () => {}

/** What streaming needs of a model: `LanguageModelService`, or the same through a breaker (other failures). */
export interface StreamingModel<E> {
  readonly complete: (request: CompletionRequest) => Effect.Effect<CompletionResponse, E>
  readonly stream?: ((request: CompletionRequest, onText: OnText) => Effect.Effect<CompletionResponse, E>) | undefined
}

/** The completion of `request` by `model`, streamed to `onText` when the model streams. */
export const streamCompletion = <E = LanguageModelError>(
  model: StreamingModel<E>,
  request: CompletionRequest,
  onText: OnText = ignore
): Effect.Effect<CompletionResponse, E> =>
  model.stream !== undefined
    ? model.stream(request, onText)
    : Effect.tap(model.complete(request), (response) => Effect.sync(() => showWords(response.text ?? "", onText)))
