/**
 * The Stop button's race around a turn's work. An answer streamed into drafts shows a Stop
 * button (Bot API 10.3); the model's calls and the tools are raced against the turn's stop
 * signal (`RunningTurns.ts`), and the loser is interrupted: the model's HTTP request is aborted,
 * the tools in flight are interrupted. Without drafts there is no button, and no race.
 *
 * A stopped turn sends nothing more but, with `STOP_KEEPS_PARTIAL`, what was shown, marked as
 * stopped (`texts.stopped`); the history keeps what the user saw, marked the same way.
 */
import { Effect, Option, type Scope } from "effect"
import { commitAnswer } from "../domain/CurrentUpdate.ts"
import type { TelegramId } from "../domain/Update.ts"
import type { SendError } from "../telegram/Messenger.ts"
import type { AnswerStream } from "../telegram/StreamingReplies.ts"
import type { Outcome } from "./Outcome.ts"
import { RunningTurns } from "./RunningTurns.ts"

export const makeStopRace = Effect.map(RunningTurns, (turns) => {
  /**
   * The turn's `work` (some result), or none when the user stopped the turn first; the turn can
   * be stopped until the scope (the turn's) closes.
   */
  const race = <A, E, R>(
    chatId: TelegramId,
    live: AnswerStream,
    work: Effect.Effect<Option.Option<A>, E, R>
  ): Effect.Effect<Option.Option<A>, E, R | Scope.Scope> =>
    live.draftId === undefined
      ? work
      : Effect.flatMap(turns.enter(chatId, live.draftId), (stop) => Effect.raceFirst(work, Effect.as(stop, Option.none())))

  /** Ends a stopped turn: `record` keeps the reply (what was shown, marked with `mark`) in the history. */
  const stopped = <E, R>(
    live: AnswerStream,
    mark: string,
    record: (reply: string) => Effect.Effect<unknown, E, R>
  ): Effect.Effect<Outcome, E | SendError, R> =>
    Effect.gen(function*() {
      const stop = yield* live.stop
      const shown = stop.shown.trimEnd()
      const marked = shown === "" ? mark : `${shown}\n\n${mark}`
      yield* record(marked)
      const kept = stop.keep && shown !== ""
      if (kept) yield* Effect.zipRight(commitAnswer, live.finish(marked))
      yield* Effect.logInfo("dialog stopped by the user").pipe(Effect.annotateLogs({ kept }))
      return { _tag: "Stopped", kept } satisfies Outcome
    })

  return { race, stopped }
})
