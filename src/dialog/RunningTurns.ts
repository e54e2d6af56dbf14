/**
 * The turns running in this process, addressable by the draft they show: a user's Stop button
 * (`stopped_message_generation`, Bot API 10.3) names the chat and the draft, and `stop` ends
 * the turn that shows it. The pipeline enters a turn while its model calls and tools run and
 * races them against `stopped`: the loser is interrupted, so the model's HTTP request is
 * aborted and the tools in flight are interrupted, and the pipeline finishes the turn as
 * stopped.
 *
 * A stop for a draft no running turn shows (the turn has ended, or it runs on another replica
 * and the stop reached this one) stops nothing and says so. In the cluster every replica is
 * asked (`TurnStops`), and each asks its own registry.
 */
import { Context, Deferred, Effect, Layer, type Scope } from "effect"
import type { TelegramId } from "../domain/Update.ts"

/** A running turn as the registry holds it: the draft it shows, and its stop signal. */
interface Turn {
  readonly draftId: number
  readonly stop: Deferred.Deferred<void>
}

export interface RunningTurnsService {
  /**
   * Enters the running turn of `chatId` that shows draft `draftId` until the scope closes;
   * the effect returned completes when the turn is stopped (never, if it is not).
   */
  readonly enter: (chatId: TelegramId, draftId: number) => Effect.Effect<Effect.Effect<void>, never, Scope.Scope>
  /** Stops the running turn of `chatId` that shows draft `draftId`; whether one was running here. */
  readonly stop: (chatId: TelegramId, draftId: number) => Effect.Effect<boolean>
}

export class RunningTurns extends Context.Tag("dialog-bot/RunningTurns")<RunningTurns, RunningTurnsService>() {}

export const makeRunningTurns = Effect.sync(() => {
  /** The turns of each chat (a few at most: one per forum topic of a private chat). */
  const byChat = new Map<TelegramId, Array<Turn>>()

  const enter: RunningTurnsService["enter"] = (chatId, draftId) =>
    Effect.acquireRelease(
      Effect.map(Deferred.make<void>(), (stop) => {
        const turn: Turn = { draftId, stop }
        const turns = byChat.get(chatId)
        if (turns === undefined) byChat.set(chatId, [turn])
        else turns.push(turn)
        return turn
      }),
      (turn) =>
        Effect.sync(() => {
          const turns = byChat.get(chatId)
          if (turns === undefined) return
          const left = turns.filter((t) => t !== turn)
          if (left.length === 0) byChat.delete(chatId)
          else byChat.set(chatId, left)
        })
    ).pipe(Effect.map((turn) => Deferred.await(turn.stop)))

  const stop: RunningTurnsService["stop"] = (chatId, draftId) =>
    Effect.suspend(() => {
      const turn = byChat.get(chatId)?.find((t) => t.draftId === draftId)
      return turn === undefined ? Effect.succeed(false) : Effect.as(Deferred.succeed(turn.stop, undefined), true)
    })

  return RunningTurns.of({ enter, stop })
})

export const RunningTurnsLive = Layer.effect(RunningTurns, makeRunningTurns)
