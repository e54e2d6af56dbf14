/** The update a fiber is working on: set by the dispatcher, read by whoever records what the bot sent. */
import { Effect, FiberRef, Option } from "effect"
import type { TelegramId } from "./Update.ts"

export const CurrentUpdateId: FiberRef.FiberRef<Option.Option<TelegramId>> = FiberRef.unsafeMake(
  Option.none<TelegramId>()
)

/**
 * Whether the answer of the current update has started to go out. The dispatcher sets a cell
 * per update; the pipeline marks it just before it sends the answer. From then on the
 * update's deadline no longer cuts the dialog short: an interrupted send may have reached the
 * user already, and an apology after it would be a second message.
 */
export interface AnswerCommit {
  committed: boolean
}

export const CurrentAnswerCommit: FiberRef.FiberRef<Option.Option<AnswerCommit>> = FiberRef.unsafeMake(
  Option.none<AnswerCommit>()
)

/** Marks the current update's answer as going out (nothing outside a dispatched update). */
export const commitAnswer = Effect.flatMap(FiberRef.get(CurrentAnswerCommit), (cell) =>
  Effect.sync(() => {
    if (Option.isSome(cell)) cell.value.committed = true
  }))
