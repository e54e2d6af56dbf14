/**
 * `Effect.retry` that costs nothing until the first failure. Effect's builds a schedule driver
 * (a `Ref`) and provides the iteration metadata (a `FiberRef` set and reset, some 40 runtime
 * steps) before the first attempt, on every call: a dialog update makes a dozen retried calls
 * (store writes, model and Bot API requests) that nearly always succeed at once (issue 15).
 *
 * Here the first attempt runs alone; its failure is handed to `Effect.retry` as the failure of
 * its own first attempt, so the schedule sees the same failures, waits the same delays and
 * allows the same number of attempts as `Effect.retry(effect, schedule)`.
 */
import { Effect, Function, type Schedule } from "effect"

export const retryLazily: {
  <Out, In, R1>(
    schedule: Schedule.Schedule<Out, In, R1>
  ): <A, E extends In, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R | R1>
  <A, E extends In, R, Out, In, R1>(
    effect: Effect.Effect<A, E, R>,
    schedule: Schedule.Schedule<Out, In, R1>
  ): Effect.Effect<A, E, R | R1>
} = Function.dual(2, <A, E extends In, R, Out, In, R1>(
  effect: Effect.Effect<A, E, R>,
  schedule: Schedule.Schedule<Out, In, R1>
): Effect.Effect<A, E, R | R1> =>
  Effect.catchAll(effect, (first) => {
    let replayed = false
    return Effect.retry(
      Effect.suspend(() => {
        if (replayed) return effect
        replayed = true
        return Effect.fail(first)
      }),
      schedule
    )
  }))
