import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Ref, Schedule, TestClock } from "effect"
import { retryLazily } from "../../src/effect/retryLazily.ts"

/** An effect failing its first `failures` attempts (with the attempt's number), then succeeding; the attempt times. */
const flaky = (failures: number) =>
  Effect.gen(function*() {
    const attempts = yield* Ref.make<ReadonlyArray<number>>([])
    const effect = Effect.gen(function*() {
      const now = yield* TestClock.currentTimeMillis
      const n = (yield* Ref.updateAndGet(attempts, (a) => [...a, now])).length
      if (n <= failures) return yield* Effect.fail(n)
      return `ok after ${n}`
    })
    return { effect, attempts }
  })

const schedule = Schedule.exponential(Duration.millis(100)).pipe(
  Schedule.intersect(Schedule.recurs(3)),
  Schedule.whileInput((n: number) => n !== 99)
)

/** Runs `retry` on a flaky effect to its end, the clock moved on; its exit and attempt times. */
const run = (failures: number, retry: (e: Effect.Effect<string, number>) => Effect.Effect<string, number>) =>
  Effect.gen(function*() {
    const { effect, attempts } = yield* flaky(failures)
    const fiber = yield* Effect.fork(Effect.exit(retry(effect)))
    yield* TestClock.adjust(Duration.seconds(10))
    return { exit: yield* Fiber.join(fiber), attempts: yield* Ref.get(attempts) }
  })

describe("retryLazily", () => {
  it.effect("makes the same attempts at the same times as Effect.retry, succeeding or giving up", () =>
    Effect.gen(function*() {
      for (const failures of [0, 1, 3, 4, 10]) {
        const lazy = yield* run(failures, retryLazily(schedule))
        const eager = yield* run(failures, (e) => Effect.retry(e, schedule))
        expect(lazy.exit).toStrictEqual(eager.exit)
        expect(lazy.attempts.map((t) => t - lazy.attempts[0]!)).toStrictEqual(eager.attempts.map((t) => t - eager.attempts[0]!))
      }
      const gaveUp = yield* run(10, retryLazily(schedule))
      expect(gaveUp.attempts).toHaveLength(4)
      expect(gaveUp.exit._tag).toBe("Failure")
      const once = yield* run(0, retryLazily(schedule))
      expect(once.attempts).toHaveLength(1)
    }))

  it.effect("a failure the schedule does not take ends at the first attempt", () =>
    Effect.gen(function*() {
      let attempts = 0
      const exit = yield* Effect.exit(retryLazily(Effect.suspend(() => {
        attempts++
        return Effect.fail(99)
      }), schedule))
      expect(attempts).toBe(1)
      expect(exit).toStrictEqual(yield* Effect.exit(Effect.fail(99)))
    }))
})
