import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { TimeSlicedScheduler } from "../../src/runtime/Scheduler.ts"

describe("TimeSlicedScheduler", () => {
  it("runs every fiber to completion, in the order scheduled", async () => {
    const order: Array<number> = []
    const program = Effect.forEach(
      Array.from({ length: 200 }, (_, i) => i),
      (i) => Effect.fork(Effect.sync(() => order.push(i))),
    ).pipe(Effect.flatMap(Fiber.joinAll), Effect.withScheduler(new TimeSlicedScheduler(2)))
    await Effect.runPromise(program)
    expect(order).toEqual(Array.from({ length: 200 }, (_, i) => i))
  })

  it("lets timers and I/O callbacks run while fibers keep the CPU busy", async () => {
    // Eight fibers burn the CPU in small steps until a timer callback has run: with the default
    // scheduler the timer could not fire while they run, and they would spin to their cap.
    let fired = false
    const timer = setTimeout(() => (fired = true), 1)
    const capMillis = 10_000
    const busy = Effect.gen(function*() {
      const cap = performance.now() + capMillis
      while (!fired && performance.now() < cap) {
        const spin = performance.now() + 0.2
        while (performance.now() < spin) { /* a slice of work */ }
        yield* Effect.yieldNow()
      }
      return fired
    })
    const program = Effect.all(Array.from({ length: 8 }, () => busy), { concurrency: "unbounded" }).pipe(
      Effect.withScheduler(new TimeSlicedScheduler(2))
    )
    const sawTimer = await Effect.runPromise(program)
    clearTimeout(timer)
    expect(sawTimer).toEqual(Array.from({ length: 8 }, () => true))
  })
})
