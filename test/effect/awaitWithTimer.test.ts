/**
 * Waiting for a fiber with a timer beside it, on effect's own clock (a JavaScript timer, real
 * time: short waits) and on the TestClock (a sleep): the fiber's exit when it ends first, none
 * when the timer gives up first (the fiber left running), a timer armed again or dropped as
 * `onTimer` says, an interrupted wait that leaves the fiber alone — and, on effect's clock, no
 * fiber forked for the timer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Duration, Effect, Exit, Fiber, Option, Supervisor, TestClock } from "effect"
import { awaitWithTimer, giveUp, type OnTimer } from "../../src/effect/awaitWithTimer.ts"

/** An `onTimer` that answers `answers` in turn (then "expired"), counting its calls. */
const scripted = (...answers: Array<ReturnType<OnTimer>>) => {
  const calls = { count: 0 }
  const onTimer: OnTimer = () => answers[calls.count++] ?? "expired"
  return { calls, onTimer }
}

/** Counts the fibers started under it. */
class StartedFibers extends Supervisor.AbstractSupervisor<number> {
  count = 0
  readonly value = Effect.sync(() => this.count)
  override onStart(): void {
    this.count++
  }
}

describe("awaitWithTimer on effect's own clock", () => {
  it.live("gives the fiber's exit when it ends first, and the timer never fires", () =>
    Effect.gen(function*() {
      const { calls, onTimer } = scripted()
      const fiber = yield* Effect.fork(Effect.as(Effect.sleep("20 millis"), "done"))
      const ended = yield* awaitWithTimer(fiber, Duration.millis(200), onTimer)
      expect(Option.map(ended, Exit.isSuccess)).toEqual(Option.some(true))
      expect(Option.getOrThrow(ended)).toEqual(Exit.succeed("done"))
      yield* Effect.sleep("250 millis")
      expect(calls.count).toBe(0)
    }))

  it.live("gives none when the timer gives up first, and leaves the fiber running", () =>
    Effect.gen(function*() {
      const { calls, onTimer } = scripted("expired")
      const fiber = yield* Effect.fork(Effect.never)
      const started = Date.now()
      const ended = yield* awaitWithTimer(fiber, Duration.millis(50), onTimer)
      expect(ended).toEqual(Option.none())
      expect(Date.now() - started).toBeGreaterThanOrEqual(45)
      expect(calls.count).toBe(1)
      expect(fiber.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(fiber)
    }))

  it.live("arms the timer again for the time onTimer gives, then gives up", () =>
    Effect.gen(function*() {
      const { calls, onTimer } = scripted(Duration.millis(60), "expired")
      const fiber = yield* Effect.fork(Effect.never)
      const started = Date.now()
      expect(yield* awaitWithTimer(fiber, Duration.millis(30), onTimer)).toEqual(Option.none())
      expect(Date.now() - started).toBeGreaterThanOrEqual(85)
      expect(calls.count).toBe(2)
      yield* Fiber.interrupt(fiber)
    }))

  it.live("waits for the fiber alone once onTimer says untimed", () =>
    Effect.gen(function*() {
      const { calls, onTimer } = scripted("untimed")
      const fiber = yield* Effect.fork(Effect.as(Effect.sleep("120 millis"), 7))
      const ended = yield* awaitWithTimer(fiber, Duration.millis(20), onTimer)
      expect(Option.getOrThrow(ended)).toEqual(Exit.succeed(7))
      expect(calls.count).toBe(1)
    }))

  it.live("gives the exit of a fiber that has already ended, failures included", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.fail("no"))
      yield* Fiber.await(fiber)
      const ended = yield* awaitWithTimer(fiber, Duration.millis(10), giveUp)
      expect(Option.getOrThrow(ended)).toEqual(Exit.fail("no"))
    }))

  it.live("an interrupted wait drops its timer and leaves the fiber running", () =>
    Effect.gen(function*() {
      const { calls, onTimer } = scripted("expired")
      const release = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Effect.as(Deferred.await(release), "late"))
      const waiting = yield* Effect.fork(awaitWithTimer(fiber, Duration.millis(50), onTimer))
      yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(waiting)
      yield* Effect.sleep("80 millis")
      expect(calls.count).toBe(0)
      expect(fiber.unsafePoll()).toBeNull()
      yield* Deferred.succeed(release, undefined)
      expect(yield* Fiber.join(fiber)).toBe("late")
    }))

  it.live("forks no fiber for its timer", () =>
    Effect.gen(function*() {
      const supervisor = new StartedFibers()
      yield* Effect.gen(function*() {
        const fiber = yield* Effect.fork(Effect.never)
        expect(yield* awaitWithTimer(fiber, Duration.millis(20), giveUp)).toEqual(Option.none())
        yield* Fiber.interrupt(fiber)
      }).pipe(Effect.supervised(supervisor))
      // The one fiber is the caller's own fork.
      expect(supervisor.count).toBe(1)
    }))
})

describe("awaitWithTimer on the TestClock", () => {
  it.effect("sleeps on the test's clock: none once the time has passed there", () =>
    Effect.gen(function*() {
      const { calls, onTimer } = scripted(Duration.seconds(3), "expired")
      const fiber = yield* Effect.fork(Effect.never)
      const waiting = yield* Effect.fork(awaitWithTimer(fiber, Duration.seconds(5), onTimer))
      yield* TestClock.adjust("5 seconds")
      expect(calls.count).toBe(1)
      expect(waiting.unsafePoll()).toBeNull()
      yield* TestClock.adjust("3 seconds")
      expect(yield* Fiber.join(waiting)).toEqual(Option.none())
      expect(calls.count).toBe(2)
      expect(fiber.unsafePoll()).toBeNull()
    }))

  it.effect("gives the fiber's exit when it ends before the test's clock reaches the timer", () =>
    Effect.gen(function*() {
      const { calls, onTimer } = scripted()
      const fiber = yield* Effect.fork(Effect.as(Effect.sleep("2 seconds"), "done"))
      const waiting = yield* Effect.fork(awaitWithTimer(fiber, Duration.seconds(5), onTimer))
      yield* TestClock.adjust("2 seconds")
      expect(Option.getOrThrow(yield* Fiber.join(waiting))).toEqual(Exit.succeed("done"))
      yield* TestClock.adjust("5 seconds")
      expect(calls.count).toBe(0)
    }))

  it.effect("begun in an uninterruptible region, ends with the fiber without waiting out its timer", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.as(Effect.sleep("1 second"), "done"))
      const waiting = yield* Effect.fork(Effect.uninterruptible(awaitWithTimer(fiber, Duration.seconds(5), giveUp)))
      yield* TestClock.adjust("1 second")
      expect(Option.getOrThrow(yield* Fiber.join(waiting))).toEqual(Exit.succeed("done"))
    }))

  it.effect("waits for the fiber alone once onTimer says untimed", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(Effect.as(Effect.sleep("9 seconds"), "done"))
      const waiting = yield* Effect.fork(awaitWithTimer(fiber, Duration.seconds(1), () => "untimed"))
      yield* TestClock.adjust("9 seconds")
      expect(Option.getOrThrow(yield* Fiber.join(waiting))).toEqual(Exit.succeed("done"))
    }))
})
