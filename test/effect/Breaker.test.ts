import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Fiber, TestClock } from "effect"
import { type Breaker, CurrentPatience, makeBreaker, makePatience, type PatienceCell } from "../../src/effect/Breaker.ts"
import { makeOutages } from "../../src/effect/Outages.ts"

/** A dependency that is down until `up()`: each call is counted, with whether it overlapped another. */
const dependency = () => {
  let down = true
  let calls = 0
  let inFlight = 0
  let overlapped = 0
  const call = (answer: string) =>
    Effect.suspend(() => {
      calls++
      inFlight++
      if (inFlight > 1) overlapped++
      return (down ? Effect.fail("connection refused") : Effect.succeed(answer)).pipe(
        Effect.delay(Duration.millis(10)),
        Effect.ensuring(Effect.sync(() => void inFlight--))
      )
    })
  return {
    call,
    up: () => void (down = false),
    down: () => void (down = true),
    calls: () => calls,
    overlapped: () => overlapped
  }
}

const options = { isOutage: (e: string) => e !== "bad request", down: () => "down" }

const inTurn = <A, E>(cell: PatienceCell, effect: Effect.Effect<A, E>) => Effect.locally(effect, CurrentPatience, cell)

/** Opens `breaker` on a dependency that is down: three failed calls outside a turn. */
const openOn = (breaker: Breaker, down: ReturnType<typeof dependency>) =>
  Effect.gen(function*() {
    for (let i = 0; i < 3; i++) {
      const f = yield* Effect.fork(Effect.exit(breaker.guard(down.call("x"), options)))
      yield* TestClock.adjust(Duration.millis(10))
      yield* Fiber.join(f)
    }
  })

describe("Breaker", () => {
  it.effect("a turn waits out an outage and gets its answer once the dependency is back", () =>
    Effect.gen(function*() {
      const breaker = yield* makeBreaker("store")
      const store = dependency()
      const cell = makePatience(Duration.minutes(2))
      const fiber = yield* Effect.fork(inTurn(cell, breaker.guard(store.call("answer"), options)))
      yield* TestClock.adjust(Duration.seconds(30))
      expect(yield* breaker.isDown).toBe(true)
      expect(fiber.unsafePoll()).toBeNull()
      store.up()
      yield* TestClock.adjust(Duration.seconds(10))
      expect(yield* Fiber.join(fiber)).toBe("answer")
      expect(yield* breaker.isDown).toBe(false)
      expect(cell.gaveUp).toBeUndefined()
    }))

  it.effect("many waiting turns wait on one probe at a time instead of each calling", () =>
    Effect.gen(function*() {
      const breaker = yield* makeBreaker("model")
      const model = dependency()
      // Open it first: three failures outside a turn.
      yield* openOn(breaker, model)
      expect(yield* breaker.isDown).toBe(true)
      const before = model.calls()
      const fibers = yield* Effect.forEach(
        Array.from({ length: 20 }, (_, i) => i),
        (i) => Effect.fork(inTurn(makePatience(Duration.minutes(2)), breaker.guard(model.call(`answer ${i}`), options)))
      )
      yield* TestClock.adjust(Duration.seconds(60))
      // Twenty turns waited a minute: the probes came one at a time, spaced by the backoff.
      const probes = model.calls() - before
      expect(probes).toBeGreaterThan(0)
      expect(probes).toBeLessThan(25)
      expect(model.overlapped()).toBe(0)
      model.up()
      yield* TestClock.adjust(Duration.seconds(10))
      const answers = yield* Effect.forEach(fibers, Fiber.join)
      expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `answer ${i}`))
    }))

  it.effect("past the turn's patience the call fails with its last failure and the turn knows what it gave up on", () =>
    Effect.gen(function*() {
      const breaker = yield* makeBreaker("store")
      const store = dependency()
      const cell = makePatience(Duration.seconds(20))
      const fiber = yield* Effect.fork(Effect.exit(inTurn(cell, breaker.guard(store.call("answer"), options))))
      yield* TestClock.adjust(Duration.seconds(19))
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust(Duration.seconds(10))
      expect(yield* Fiber.join(fiber)).toStrictEqual(Exit.fail("connection refused"))
      expect(cell.gaveUp).toBe("store")
      // Once given up, the turn's next call does not wait again while the store is down.
      const again = yield* Effect.fork(Effect.exit(inTurn(cell, breaker.guard(store.call("answer"), options))))
      yield* TestClock.adjust(Duration.millis(20))
      expect(Exit.isFailure(yield* Fiber.join(again))).toBe(true)
      // It completes `awaitUp` when the store answers again.
      const back = yield* Effect.fork(breaker.awaitUp)
      store.up()
      yield* TestClock.adjust(Duration.seconds(10))
      yield* Effect.fork(breaker.guard(store.call("probe"), options))
      yield* TestClock.adjust(Duration.seconds(1))
      yield* Fiber.join(back)
      expect(yield* breaker.isDown).toBe(false)
    }))

  it.effect("a call guarded inside a guarded call on the same breaker passes through: a nested call during an outage does not wait on itself", () =>
    Effect.gen(function*() {
      const breaker = yield* makeBreaker("store")
      const store = dependency()
      // Open it first: three failures outside a turn.
      yield* openOn(breaker, store)
      expect(yield* breaker.isDown).toBe(true)
      // As the usage ledger's `recordTurn` runs the reply's history append inside it.
      const inner = breaker.guard(store.call("appended"), options)
      const outer = breaker.guard(Effect.zipRight(store.call("recorded"), inner), { ...options, nests: true })
      const cell = makePatience(Duration.minutes(2))
      const fiber = yield* Effect.fork(inTurn(cell, outer))
      yield* TestClock.adjust(Duration.seconds(30))
      expect(fiber.unsafePoll()).toBeNull()
      store.up()
      // Back within the next probe (5 s at most), far inside the patience: the nested call did
      // not wait on the outer call's probe, which is itself.
      yield* TestClock.adjust(Duration.seconds(6))
      expect(fiber.unsafePoll()).not.toBeNull()
      expect(yield* Fiber.join(fiber)).toBe("appended")
      expect(cell.gaveUp).toBeUndefined()
      expect(yield* breaker.isDown).toBe(false)
      // Outside the outer call the breaker guards again: down, a call outside a turn is refused at once.
      store.down()
      yield* openOn(breaker, store)
      const calls = store.calls()
      expect(yield* Effect.exit(breaker.guard(store.call("x"), options))).toStrictEqual(Exit.fail("down"))
      expect(store.calls()).toBe(calls)
    }))

  it.effect("an answer that is not an outage (a bad request) is not waited for", () =>
    Effect.gen(function*() {
      const breaker = yield* makeBreaker("telegram")
      let calls = 0
      const refused = Effect.suspend(() => {
        calls++
        return Effect.fail("bad request")
      })
      const exit = yield* Effect.exit(inTurn(makePatience(Duration.minutes(2)), breaker.guard(refused, options)))
      expect(exit).toStrictEqual(Exit.fail("bad request"))
      expect(calls).toBe(1)
      expect(yield* breaker.isDown).toBe(false)
    }))

  it.effect("outside a turn an open breaker refuses at once, without calling, until a probe is due", () =>
    Effect.gen(function*() {
      const breaker = yield* makeBreaker("store")
      const store = dependency()
      for (let i = 0; i < 3; i++) {
        const f = yield* Effect.fork(Effect.exit(breaker.guard(store.call("x"), options)))
        yield* TestClock.adjust(Duration.millis(10))
        expect(yield* Fiber.join(f)).toStrictEqual(Exit.fail("connection refused"))
      }
      const calls = store.calls()
      expect(yield* Effect.exit(breaker.guard(store.call("x"), options))).toStrictEqual(Exit.fail("down"))
      expect(store.calls()).toBe(calls)
      // After the backoff one call goes through as the probe; the dependency answers, the breaker closes.
      store.up()
      yield* TestClock.adjust(Duration.seconds(1))
      const probe = yield* Effect.fork(breaker.guard(store.call("y"), options))
      yield* TestClock.adjust(Duration.millis(10))
      expect(yield* Fiber.join(probe)).toBe("y")
      expect(yield* breaker.isDown).toBe(false)
    }))

  it.effect("with a patience of 0 nothing waits: each call of a turn reaches the dependency and fails as it fails", () =>
    Effect.gen(function*() {
      const outages = yield* makeOutages(Duration.zero)
      const store = dependency()
      const cell = makePatience(outages.patience)
      for (let i = 0; i < 5; i++) {
        const f = yield* Effect.fork(Effect.exit(inTurn(cell, outages.store.guard(store.call("x"), options))))
        yield* TestClock.adjust(Duration.millis(10))
        expect(yield* Fiber.join(f)).toStrictEqual(Exit.fail("connection refused"))
      }
      // Past the threshold of a waiting breaker: still closed, every call made, the turn gave up on nothing.
      expect(store.calls()).toBe(5)
      expect(yield* outages.store.isDown).toBe(false)
      expect(cell.waitingSince).toBeUndefined()
      expect(cell.gaveUp).toBeUndefined()
    }))
})
