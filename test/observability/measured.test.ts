import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, Metric, MetricBoundaries, TestClock } from "effect"
import { measured } from "../../src/observability/Metrics.ts"

/** A histogram and a counter of their own per test, so that no other test's updates count. */
const metricsOf = (name: string) => ({
  duration: Metric.histogram(`test_${name}_seconds`, MetricBoundaries.linear({ start: 0, width: 1, count: 10 })).pipe(
    Metric.mapInput((d: Duration.Duration) => Duration.toSeconds(d))
  ),
  failures: Metric.counter(`test_${name}_failures_total`)
})

describe("measured", () => {
  it.effect("a success records its duration by effect's clock; a failure of the error type counts one", () =>
    Effect.gen(function*() {
      const { duration, failures } = metricsOf("measured_outcomes")
      const measure = measured(duration, (_: string) => failures)
      const slow = yield* Effect.fork(measure(Effect.as(Effect.sleep("3 seconds"), "done")))
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(slow)).toBe("done")
      const afterSuccess = yield* Metric.value(duration)
      expect(afterSuccess.count).toBe(1)
      expect(afterSuccess.sum).toBe(3)
      expect((yield* Metric.value(failures)).count).toBe(0)

      expect(yield* Effect.exit(measure(Effect.fail("refused")))).toEqual(Exit.fail("refused"))
      expect((yield* Metric.value(failures)).count).toBe(1)
      expect((yield* Metric.value(duration)).count).toBe(1)
    }))

  it.effect("a defect or an interruption records neither", () =>
    Effect.gen(function*() {
      const { duration, failures } = metricsOf("measured_neither")
      const measure = measured(duration, (_: never) => failures)
      expect(Exit.isFailure(yield* Effect.exit(measure(Effect.die("bug"))))).toBe(true)
      const waiting = yield* Effect.fork(measure(Effect.never))
      yield* Fiber.interrupt(waiting)
      expect((yield* Metric.value(duration)).count).toBe(0)
      expect((yield* Metric.value(failures)).count).toBe(0)
    }))
})
