/**
 * The pipeline's side of a merged turn (quick successive messages, `MERGE_WINDOW`; the queue
 * side is `TurnMerge` in src/runtime/): the earlier messages of the turn the current fiber
 * runs, the text the model gets, and how a group turn is screened.
 */
import { Effect, FiberRef, Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { CurrentMergedParts } from "../domain/MergedTurn.ts"
import { messageText, type TelegramId } from "../domain/Update.ts"
import type { AddressingService } from "./Addressing.ts"

export interface TurnText {
  /** The earlier messages of the turn, oldest first: each is kept in the history under its own update. */
  readonly earlier: ReadonlyArray<{ readonly updateId: TelegramId; readonly text: string }>
  /** What the model gets: every text of the turn joined with newlines, in update order (`text` last). */
  readonly text: string
  /** The updates of the turn (the earlier ones and `updateId`): the history before the turn leaves them out. */
  readonly updateIds: ReadonlySet<TelegramId>
}

/** The turn of the current update, whose own text is `text`: that text alone when nothing was merged into it. */
export const turnText = (updateId: TelegramId, text: string): Effect.Effect<TurnText> =>
  Effect.map(FiberRef.get(CurrentMergedParts), (parts) => {
    const earlier = parts.map((part) => ({ updateId: part.updateId, text: Option.getOrElse(messageText(part.message), () => "") }))
    return {
      earlier,
      text: [...earlier.map((e) => e.text), text].join("\n"),
      updateIds: new Set([...earlier.map((e) => e.updateId), updateId])
    }
  })

/**
 * Whether an earlier message of the current turn addresses the bot (a group turn is answered
 * when any of its messages does). Each one that does not is kept as context, as `screen` does.
 */
export const earlierAddressed = (addressing: AddressingService): Effect.Effect<boolean, StoreError> =>
  FiberRef.get(CurrentMergedParts).pipe(
    Effect.flatMap((parts) => Effect.forEach(parts, (part) => addressing.screen(part.updateId, part.message))),
    Effect.map((screened) => screened.some(Option.isSome))
  )
