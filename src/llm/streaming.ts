/**
 * Streamed completions over any `LanguageModel`: its own `stream` when it has one, else its
 * `complete`, shown whole once it is there, so callers read every model the same way.
 */
import { Effect } from "effect"
import type { CompletionRequest, CompletionResponse, LanguageModelError, LanguageModelService, OnText } from "./LanguageModel.ts"

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

/** The completion of `request` by `model`, streamed to `onText` when the model streams. */
export const streamCompletion = (
  model: LanguageModelService,
  request: CompletionRequest,
  onText: OnText = ignore
): Effect.Effect<CompletionResponse, LanguageModelError> =>
  model.stream !== undefined
    ? model.stream(request, onText)
    : Effect.tap(model.complete(request), (response) => Effect.sync(() => showWords(response.text ?? "", onText)))
