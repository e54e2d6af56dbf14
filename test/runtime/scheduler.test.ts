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
    let ticks = 0
    const timer = setInterval(() => ticks++, 1)
    // Eight fibers that each burn the CPU in many small steps for ~300 ms.
    const busy = Effect.gen(function*() {
      const until = performance.now() + 300
      while (performance.now() < until) {
        const spin = performance.now() + 0.2
        while (performance.now() < spin) { /* a slice of work */ }
        yield* Effect.yieldNow()
      }
    })
    const program = Effect.all(Array.from({ length: 8 }, () => busy), { concurrency: "unbounded" }).pipe(
      Effect.withScheduler(new TimeSlicedScheduler(2))
    )
    await Effect.runPromise(program)
    clearInterval(timer)
    // With the default scheduler the timer would not fire at all while the fibers run.
    expect(ticks).toBeGreaterThan(20)
  })
})
