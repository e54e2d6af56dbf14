/** Waiting in real time in tests whose clock may be the TestClock (work over HTTP happens in real time). */
import { Effect } from "effect"

/** Sleeps on the real timer whatever clock the test uses (work over HTTP happens in real time). */
export const realSleep = (millis: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/** Re-runs `effect` on the real timer until its value satisfies `holds` (at most ~5 s), then returns it. */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  holds: (a: A) => boolean,
  attempts = 500
): Effect.Effect<A, E | string, R> =>
  Effect.flatMap(effect, (a) =>
    holds(a)
      ? Effect.succeed(a)
      : attempts <= 0
      ? Effect.fail(`condition not reached; last value: ${JSON.stringify(a)}`)
      : Effect.zipRight(realSleep(10), eventually(effect, holds, attempts - 1)))
