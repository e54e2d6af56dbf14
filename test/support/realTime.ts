/** Waiting in real time in tests whose clock may be the TestClock (work over HTTP happens in real time). */
import { Duration, Effect } from "effect"

/** Sleeps on the real timer whatever clock the test uses (work over HTTP happens in real time). */
export const realSleep = (millis: number) =>
  Effect.async<void>((resume) => {
    const timer = setTimeout(() => resume(Effect.void), millis)
    return Effect.sync(() => clearTimeout(timer))
  })

/** How often `eventually` looks again. */
const pollMillis = 10

/**
 * Re-runs `effect` on the real timer until its value satisfies `holds`, then returns it; fails
 * with the last value once `within` (real time, 5 s unless given; a number is milliseconds) has
 * passed.
 */
export const eventually = <A, E, R>(
  effect: Effect.Effect<A, E, R>,
  holds: (a: A) => boolean,
  within: Duration.DurationInput = "5 seconds"
): Effect.Effect<A, E | string, R> =>
  Effect.suspend(() => {
    const deadline = performance.now() + Duration.toMillis(Duration.decode(within))
    const attempt: Effect.Effect<A, E | string, R> = Effect.flatMap(effect, (a) =>
      holds(a)
        ? Effect.succeed(a)
        : performance.now() >= deadline
        ? Effect.fail(`condition not reached within ${Duration.format(Duration.decode(within))}; last value: ${JSON.stringify(a)}`)
        : Effect.zipRight(realSleep(pollMillis), attempt))
    return attempt
  })
