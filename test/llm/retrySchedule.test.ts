import { describe, expect, it } from "@effect/vitest"
import { Clock, Duration, Effect, Fiber, Option, TestClock } from "effect"
import { ModelCallFailed, retryAfterFrom, retrySchedule } from "../../src/llm/OpenAiRetry.ts"

const policy = { maxRetries: 3, backoffBase: Duration.seconds(1), retryAfterCap: Duration.seconds(10) }

const failed = (retryable: boolean, retryAfterMs?: number) =>
  new ModelCallFailed({
    message: "x",
    retryable,
    status: Option.none(),
    retryAfter: retryAfterMs === undefined ? Option.none() : Option.some(Duration.millis(retryAfterMs))
  })

/** Runs an always-failing call under the schedule on the TestClock; returns when each attempt started. */
const attemptTimes = (failures: ReadonlyArray<ModelCallFailed>, failOverOnLongWait = false) =>
  Effect.gen(function*() {
    const times: Array<number> = []
    const call = Effect.gen(function*() {
      const index = times.length
      times.push(yield* Clock.currentTimeMillis)
      return yield* Effect.fail(failures[Math.min(index, failures.length - 1)]!)
    })
    const fiber = yield* Effect.fork(Effect.retry(call, retrySchedule({ ...policy, failOverOnLongWait })))
    yield* TestClock.adjust("10 minutes")
    yield* Fiber.await(fiber)
    return times.map((t) => t - times[0]!)
  })

describe("retrySchedule", () => {
  it.effect("waits what the endpoint asks for", () =>
    Effect.gen(function*() {
      const times = yield* attemptTimes([failed(true, 1500), failed(true, 200), failed(true, 4000), failed(true, 1)])
      expect(times).toEqual([0, 1500, 1700, 5700])
    }))

  it.effect("caps a long retry-after", () =>
    Effect.gen(function*() {
      const times = yield* attemptTimes([failed(true, 3_600_000)])
      expect(times).toEqual([0, 10_000, 20_000, 30_000])
    }))

  it.effect("backs off exponentially with jitter otherwise, a bounded number of times", () =>
    Effect.gen(function*() {
      const times = yield* attemptTimes([failed(true)])
      expect(times).toHaveLength(4)
      const waits = times.slice(1).map((t, i) => t - times[i]!)
      const expected = [1000, 2000, 4000]
      waits.forEach((wait, i) => {
        expect(wait).toBeGreaterThanOrEqual(expected[i]! * 0.8)
        expect(wait).toBeLessThanOrEqual(expected[i]! * 1.2)
      })
    }))

  it.effect("with a fallback to go to, does not wait for an endpoint asking for more than the cap", () =>
    Effect.gen(function*() {
      expect(yield* attemptTimes([failed(true, 3_600_000)], true)).toEqual([0])
      expect(yield* attemptTimes([failed(true, 10_000), failed(true, 10_001)], true)).toEqual([0, 10_000])
    }))

  it.effect("does not retry what is not retryable", () =>
    Effect.gen(function*() {
      expect(yield* attemptTimes([failed(false)])).toEqual([0])
      expect(yield* attemptTimes([failed(true, 10), failed(false)])).toEqual([0, 10])
    }))
})

describe("retryAfterFrom", () => {
  const now = Date.parse("2025-11-28T12:00:00Z")
  const cases: ReadonlyArray<readonly [string, Record<string, string>, number | undefined]> = [
    ["retry-after-ms", { "retry-after-ms": "250" }, 250],
    ["retry-after-ms wins over retry-after", { "retry-after-ms": "250", "retry-after": "9" }, 250],
    ["retry-after in seconds", { "retry-after": "3" }, 3000],
    ["retry-after with a fraction", { "retry-after": "1.5" }, 1500],
    ["retry-after as an HTTP date", { "retry-after": "Fri, 28 Nov 2025 12:00:07 GMT" }, 7000],
    ["a date in the past", { "retry-after": "Fri, 28 Nov 2025 11:00:00 GMT" }, 0],
    ["garbage", { "retry-after": "soon" }, undefined],
    ["a negative number", { "retry-after": "-5" }, undefined],
    ["garbage ms falls back to retry-after", { "retry-after-ms": "x", "retry-after": "2" }, 2000],
    ["no header", {}, undefined]
  ]
  for (const [label, headers, expected] of cases) {
    it(label, () => {
      const found = retryAfterFrom(new Headers(headers), now)
      expect(Option.map(found, Duration.toMillis)).toEqual(expected === undefined ? Option.none() : Option.some(expected))
    })
  }
  it("anything that is not Headers gives nothing", () => {
    expect(retryAfterFrom(undefined, now)).toEqual(Option.none())
    expect(retryAfterFrom({ "retry-after": "3" }, now)).toEqual(Option.none())
  })
})
