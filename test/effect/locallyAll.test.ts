import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, FiberRef, HashMap } from "effect"
import { localValue, localWith, locallyAll } from "../../src/effect/locallyAll.ts"

const name = FiberRef.unsafeMake("outside")
const count = FiberRef.unsafeMake(0)

const both = Effect.all([FiberRef.get(name), FiberRef.get(count)])

describe("locallyAll", () => {
  it.effect("sets every reference inside the effect, its children included, and resets them after", () =>
    Effect.gen(function*() {
      yield* FiberRef.set(count, 5)
      const inside = yield* Effect.all([both, Effect.flatMap(Effect.fork(both), Fiber.join)]).pipe(
        locallyAll([localValue(name, "inside"), localWith(count, (n) => n + 1)])
      )
      expect(inside).toEqual([["inside", 6], ["inside", 6]])
      expect(yield* both).toEqual(["outside", 5])
    }))

  it.effect("resets them when the effect fails, dies or is interrupted", () =>
    Effect.gen(function*() {
      const local = locallyAll([localValue(name, "inside"), localValue(count, 9)])
      expect(Exit.isFailure(yield* Effect.exit(local(Effect.fail("no"))))).toBe(true)
      expect(yield* both).toEqual(["outside", 0])
      expect(Exit.isFailure(yield* Effect.exit(local(Effect.die("boom"))))).toBe(true)
      expect(yield* both).toEqual(["outside", 0])
      const fiber = yield* Effect.fork(local(Effect.zipRight(FiberRef.set(count, 10), Effect.never)))
      yield* Effect.yieldNow()
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(yield* both).toEqual(["outside", 0])
    }))

  it.effect("annotates logs as Effect.annotateLogs does", () =>
    Effect.gen(function*() {
      const add = (annotations: HashMap.HashMap<string, unknown>) => HashMap.set(annotations, "update_id", 7)
      const mine = yield* FiberRef.get(FiberRef.currentLogAnnotations).pipe(
        locallyAll([localWith(FiberRef.currentLogAnnotations, add)]),
        Effect.annotateLogs("chat_id", 1)
      )
      const theirs = yield* FiberRef.get(FiberRef.currentLogAnnotations).pipe(
        Effect.annotateLogs({ update_id: 7 }),
        Effect.annotateLogs("chat_id", 1)
      )
      expect(HashMap.toEntries(mine).sort()).toEqual(HashMap.toEntries(theirs).sort())
      expect(HashMap.size(yield* FiberRef.get(FiberRef.currentLogAnnotations))).toBe(0)
    }))
})
