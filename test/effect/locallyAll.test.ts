import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, FiberRef, HashMap, Logger, LogLevel, Metric } from "effect"
import { countedWhile } from "../../src/observability/Metrics.ts"
import {
  annotateLogs,
  around,
  localAnnotations,
  localValue,
  localWith,
  locallyAll,
  locally,
  logAnnotated
} from "../../src/effect/locallyAll.ts"

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
      // The interrupted fiber's own references are reset too: its finalizers, and a parent that
      // joins it, see the values from before.
      const seenByFinalizer: Array<unknown> = []
      const fiber = yield* Effect.fork(
        local(Effect.zipRight(FiberRef.set(count, 10), Effect.never)).pipe(
          Effect.ensuring(Effect.flatMap(both, (values) => Effect.sync(() => seenByFinalizer.push(values))))
        )
      )
      yield* Effect.yieldNow()
      expect(fiber.getFiberRef(name)).toBe("inside")
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(seenByFinalizer).toEqual([["outside", 0]])
      expect([fiber.getFiberRef(name), fiber.getFiberRef(count)]).toEqual(["outside", 0])
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

  it.effect("locally and annotateLogs: one reference, the log annotations", () =>
    Effect.gen(function*() {
      expect(yield* FiberRef.get(name).pipe(locally(name, "inside"))).toBe("inside")
      expect(yield* FiberRef.get(name)).toBe("outside")
      const mine = yield* FiberRef.get(FiberRef.currentLogAnnotations).pipe(annotateLogs({ a: 1, b: "two" }))
      const theirs = yield* FiberRef.get(FiberRef.currentLogAnnotations).pipe(Effect.annotateLogs({ a: 1, b: "two" }))
      expect(HashMap.toEntries(mine).sort()).toEqual(HashMap.toEntries(theirs).sort())
      const added = yield* FiberRef.get(FiberRef.currentLogAnnotations).pipe(locallyAll([localAnnotations({ c: 3 })]))
      expect(HashMap.toEntries(added)).toEqual([["c", 3]])
    }))

  it.effect("logAnnotated logs the line with its annotations, and nothing below the minimum level", () =>
    Effect.gen(function*() {
      const lines: Array<{ readonly level: string; readonly message: unknown; readonly annotations: unknown }> = []
      const capture = Logger.make(({ annotations, logLevel, message }) => {
        lines.push({ level: logLevel.label, message, annotations: Object.fromEntries(HashMap.toEntries(annotations)) })
      })
      const logged = Effect.all([
        logAnnotated(LogLevel.Info, "dialog answered", { stage: "general", tokens: 12 }),
        logAnnotated(LogLevel.Debug, "not shown", { stage: "general" }),
        logAnnotated(LogLevel.Warning, "shown", {})
      ]).pipe(
        Effect.annotateLogs("update_id", 7),
        Logger.withMinimumLogLevel(LogLevel.Info),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      yield* logged
      expect(lines).toEqual([
        { level: "INFO", message: ["dialog answered"], annotations: { update_id: 7, stage: "general", tokens: 12 } },
        { level: "WARN", message: ["shown"], annotations: { update_id: 7 } }
      ])
      expect(HashMap.size(yield* FiberRef.get(FiberRef.currentLogAnnotations))).toBe(0)
    }))
})

describe("around", () => {
  /** Records when `enter` and its `leave` run, next to what the effect and the code after it do. */
  const traced = (events: Array<string>) =>
    around(() => {
      events.push("enter")
      return () => void events.push("leave")
    })

  it.effect("runs enter before the effect and leave after it, before anything that follows", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const result = yield* Effect.sync(() => {
        events.push("effect")
        return 7
      }).pipe(traced(events), Effect.tap(() => Effect.sync(() => void events.push("after"))))
      expect(result).toBe(7)
      expect(events).toEqual(["enter", "effect", "leave", "after"])
    }))

  it.effect("runs leave when the effect fails, dies or is interrupted, and keeps its cause", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      expect(yield* Effect.exit(Effect.fail("no").pipe(traced(events)))).toEqual(Exit.fail("no"))
      expect(Exit.isFailure(yield* Effect.exit(Effect.die("boom").pipe(traced(events))))).toBe(true)
      const fiber = yield* Effect.fork(Effect.never.pipe(traced(events)))
      yield* Effect.yieldNow()
      expect(Exit.isInterrupted(yield* Fiber.interrupt(fiber))).toBe(true)
      expect(events).toEqual(["enter", "leave", "enter", "leave", "enter", "leave"])
    }))

  it.effect("runs the effect as interruptible as the caller was", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const status = Effect.checkInterruptible((interruptible) => Effect.succeed(interruptible))
      expect(yield* status.pipe(traced(events))).toBe(true)
      expect(yield* Effect.uninterruptible(status.pipe(traced(events)))).toBe(false)
    }))
})

describe("countedWhile", () => {
  it.effect("counts the effect in the gauge while it runs, however it ends", () =>
    Effect.gen(function*() {
      const gauge = Metric.gauge(`test_counted_while_${Math.random().toString(36).slice(2)}`)
      const value = Effect.map(Metric.value(gauge), (state) => state.value)
      expect(yield* value.pipe(countedWhile(gauge))).toBe(1)
      expect(yield* value).toBe(0)
      yield* Effect.exit(Effect.fail("no").pipe(countedWhile(gauge)))
      expect(yield* value).toBe(0)
      const started = yield* Deferred.make<void>()
      const fiber = yield* Effect.fork(Effect.zipRight(Deferred.succeed(started, undefined), Effect.never).pipe(countedWhile(gauge)))
      yield* Deferred.await(started)
      expect(yield* value).toBe(1)
      yield* Fiber.interrupt(fiber)
      expect(yield* value).toBe(0)
    }))
})
