import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, TestClock } from "effect"
import { parseClock, withFixedClock } from "../../src/replay/FixedClock.ts"

describe("the clock", () => {
  it.effect("--clock takes ISO 8601 date-times and rejects anything else with a ConfigurationError", () =>
    Effect.gen(function*() {
      expect(yield* parseClock("2026-01-15T10:00:00Z")).toBe(Date.UTC(2026, 0, 15, 10))
      expect(yield* parseClock("2026-01-15T12:00:00+02:00")).toBe(Date.UTC(2026, 0, 15, 10))
      expect(yield* parseClock("2026-01-15")).toBe(Date.UTC(2026, 0, 15))
      const error = yield* Effect.flip(parseClock("tomorrow at noon"))
      expect(error._tag).toBe("ConfigurationError")
      expect(error.message).toMatch(/ISO 8601/)
      expect((yield* Effect.flip(parseClock("2026-13-45T99:00:00Z")))._tag).toBe("ConfigurationError")
    }))

  it.effect("a fixed clock reads one instant in every fiber and still sleeps on the clock beneath", () =>
    Effect.gen(function*() {
      const fixed = Date.UTC(2026, 0, 15, 10)
      const fiber = yield* Effect.fork(
        withFixedClock(fixed)(
          Effect.gen(function*() {
            const inner = yield* Effect.fork(Effect.zipRight(Effect.sleep(Duration.minutes(5)), Clock.currentTimeMillis))
            const before = yield* Clock.currentTimeMillis
            return [before, yield* Fiber.join(inner)] as const
          })
        )
      )
      yield* TestClock.adjust(Duration.minutes(5))
      expect(yield* Fiber.join(fiber)).toEqual([fixed, fixed])
    }))
})
