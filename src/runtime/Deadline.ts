/**
 * The update's deadline: its dialog fails with `DeadlineExceeded` once `UPDATE_DEADLINE` has
 * passed, unless its answer has started to go out, with the turn's patience on top when it
 * waited for a dependency that was down (`UpdateRunner.ts` runs every update under it).
 */
import { Duration, Effect, Schema } from "effect"
import type { Delivery } from "../domain/CurrentUpdate.ts"
import type { PatienceCell } from "../effect/Breaker.ts"
import { withTimer } from "../effect/awaitWithTimer.ts"

/** The update's dialog ran past `updateDeadline` before its answer started to go out. */
export class DeadlineExceeded extends Schema.TaggedError<DeadlineExceeded>()("DeadlineExceeded", {
  deadline: Schema.DurationFromSelf
}) {
  override get message(): string {
    return `deadline exceeded (${Duration.format(this.deadline)})`
  }
}

/**
 * `effect` failing with `DeadlineExceeded` once `deadline` has passed, unless the update's answer
 * has started to go out (`cell.committed`): then the send finishes under its own bounded retries,
 * as an apology after it would be a second message. A turn that waited for a dependency that was
 * down (`patience`) has its patience on top of the deadline: the wait is not the dialog's slowness.
 *
 * `effect` runs on a fiber of its own with a timer beside it (`withTimer`), as in a race with
 * a sleep, without the race's second fiber: at the deadline the fiber is interrupted (and
 * awaited) before `DeadlineExceeded`; interrupting this interrupts it too, and its `FiberRef`s
 * come back with its success.
 */
export const withDeadline = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  deadline: Duration.Duration,
  cell: Delivery,
  patience?: PatienceCell
): Effect.Effect<A, E | DeadlineExceeded, R> =>
  Effect.suspend(() => {
    let extended = false
    const onTimer = (): Duration.Duration | "expired" | "untimed" => {
      if (cell.committed) return "untimed"
      if (!extended && patience?.waitingSince !== undefined) {
        extended = true
        return patience.patience
      }
      return "expired"
    }
    return withTimer(effect, deadline, onTimer, () => new DeadlineExceeded({ deadline }))
  })
