/**
 * One update's policy on its own, over a scripted pipeline and the memory inbox: the deadline
 * is a `DeadlineExceeded` failure (apology, entry failed), a committed answer is not cut
 * short, a user who blocked the bot gets no apology, a store failure is retried.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, FiberRef, Layer, Metric, Option, TestClock } from "effect"
import { commitAnswer, makeDelivery } from "../../src/domain/CurrentUpdate.ts"
import { StoreError } from "../../src/domain/errors.ts"
import { makePatience } from "../../src/effect/Breaker.ts"
import { decodeUpdate, type TelegramId } from "../../src/domain/Update.ts"
import { DialogPipeline, type Outcome, type PipelineError } from "../../src/dialog/DialogPipeline.ts"
import { updatesProcessed } from "../../src/observability/Metrics.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { DeadlineExceeded, withDeadline } from "../../src/runtime/Deadline.ts"
import { type UpdateJob, UpdateRunner, UpdateRunnerLive } from "../../src/runtime/UpdateRunner.ts"
import { InboxMemory } from "../../src/store/memory/MemoryStores.ts"
import { RecipientBlocked } from "../../src/telegram/Messenger.ts"
import { Inbox, textMessage } from "../../src/testing/index.ts"

const answered: Outcome = { _tag: "Answered", stage: "general", fallback: false }

/** The runner over a pipeline whose `handle` is `handle`; `apologies` collects the apologized update ids. */
const runnerWith = (handle: (attempt: number) => Effect.Effect<Outcome, PipelineError>, apologies: Array<number>) => {
  let attempts = 0
  const pipeline = Layer.succeed(DialogPipeline, {
    handle: () => handle(++attempts),
    apologize: (update) => Effect.sync(() => void apologies.push(update.update_id))
  })
  return UpdateRunnerLive.pipe(
    Layer.provideMerge(Layer.mergeAll(pipeline, InboxMemory, DispatcherConfig.make({ updateDeadline: Duration.seconds(5) })))
  )
}

/** Records an update in the inbox and returns its job. */
const recorded = (updateId: number) =>
  Effect.gen(function*() {
    const raw = textMessage({ userId: 3, text: "hello", updateId })
    const update = yield* decodeUpdate(raw)
    yield* (yield* Inbox).record({ updateId: update.update_id, chatId: update.update_id, payload: JSON.stringify(raw) })
    const job: UpdateJob = {
      updateId: update.update_id,
      key: "chat:3",
      update,
      flooded: false,
      intake: Option.none(),
      queuedAt: 0,
      deliveredBefore: 0
    }
    return job
  })

const entryOf = (updateId: number) =>
  Effect.flatMap(Inbox, (inbox) => inbox.entry(updateId as TelegramId)).pipe(Effect.map(Option.getOrThrow))

const processed = (outcome: string) =>
  Metric.value(Metric.tagged(updatesProcessed, "outcome", outcome)).pipe(Effect.map((s) => s.count))

describe("UpdateRunner", () => {
  it.effect("withDeadline fails with DeadlineExceeded once the deadline has passed", () =>
    Effect.gen(function*() {
      const fiber = yield* Effect.fork(withDeadline(Effect.never, Duration.seconds(5), makeDelivery(0)).pipe(Effect.flip))
      yield* TestClock.adjust("4 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      const error = yield* Fiber.join(fiber)
      expect(error).toBeInstanceOf(DeadlineExceeded)
      expect(error._tag).toBe("DeadlineExceeded")
      expect(Duration.toSeconds(error.deadline)).toBe(5)
    }))

  it.effect("withDeadline does not cut short an answer that has started to go out", () =>
    Effect.gen(function*() {
      const cell = makeDelivery(0)
      cell.committed = true
      const fiber = yield* Effect.fork(withDeadline(Effect.as(Effect.sleep("8 seconds"), "sent"), Duration.seconds(5), cell))
      yield* TestClock.adjust("8 seconds")
      expect(yield* Fiber.join(fiber)).toBe("sent")
    }))

  it.effect("withDeadline gives a turn that waited for a dependency its patience on top", () =>
    Effect.gen(function*() {
      const patience = makePatience(Duration.seconds(30))
      const fiber = yield* Effect.fork(withDeadline(Effect.never, Duration.seconds(5), makeDelivery(0), patience).pipe(Effect.flip))
      patience.waitingSince = 1
      yield* TestClock.adjust("34 seconds")
      expect(fiber.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      expect((yield* Fiber.join(fiber))._tag).toBe("DeadlineExceeded")
    }))

  it.effect("withDeadline hands back the FiberRefs the effect set", () =>
    Effect.gen(function*() {
      const ref = FiberRef.unsafeMake("before")
      yield* withDeadline(FiberRef.set(ref, "set inside"), Duration.seconds(5), makeDelivery(0))
      expect(yield* FiberRef.get(ref)).toBe("set inside")
    }))

  // The same on effect's own clock, where the deadline is a timer beside the effect's fiber (real time: short deadlines).
  it.live("withDeadline on effect's clock: DeadlineExceeded once it has passed, the effect interrupted first", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const started = Date.now()
      const error = yield* withDeadline(
        Effect.onInterrupt(Effect.never, () => Effect.sync(() => void events.push("interrupted"))),
        Duration.millis(60),
        makeDelivery(0)
      ).pipe(Effect.flip)
      events.push("deadline")
      expect(error._tag).toBe("DeadlineExceeded")
      expect(Date.now() - started).toBeGreaterThanOrEqual(55)
      expect(events).toEqual(["interrupted", "deadline"])
    }))

  it.live("withDeadline on effect's clock does not cut short an answer that has started to go out", () =>
    Effect.gen(function*() {
      const cell = makeDelivery(0)
      cell.committed = true
      expect(yield* withDeadline(Effect.as(Effect.sleep("150 millis"), "sent"), Duration.millis(50), cell)).toBe("sent")
    }))

  it.live("withDeadline on effect's clock adds the turn's patience once it has waited", () =>
    Effect.gen(function*() {
      const patience = makePatience(Duration.millis(150))
      patience.waitingSince = 1
      const started = Date.now()
      const error = yield* withDeadline(Effect.never, Duration.millis(50), makeDelivery(0), patience).pipe(Effect.flip)
      expect(error._tag).toBe("DeadlineExceeded")
      expect(Date.now() - started).toBeGreaterThanOrEqual(190)
    }))

  it.live("withDeadline on effect's clock: interrupting it interrupts the effect before it ends", () =>
    Effect.gen(function*() {
      const events: Array<string> = []
      const fiber = yield* Effect.fork(
        withDeadline(
          Effect.onInterrupt(Effect.never, () => Effect.sync(() => void events.push("effect interrupted"))),
          Duration.seconds(30),
          makeDelivery(0)
        )
      )
      yield* Effect.sleep("20 millis")
      yield* Fiber.interrupt(fiber)
      events.push("interrupt returned")
      expect(events).toEqual(["effect interrupted", "interrupt returned"])
    }))

  it.live("withDeadline on effect's clock gives the effect's answer, failure and FiberRefs", () =>
    Effect.gen(function*() {
      const ref = FiberRef.unsafeMake("before")
      expect(yield* withDeadline(Effect.as(FiberRef.set(ref, "set inside"), 1), Duration.seconds(5), makeDelivery(0))).toBe(1)
      expect(yield* FiberRef.get(ref)).toBe("set inside")
      // As with a race: the references of an effect that failed are not taken over.
      const failing = Effect.zipRight(FiberRef.set(ref, "set by a failure"), Effect.fail("no"))
      expect(yield* withDeadline(failing, Duration.seconds(5), makeDelivery(0)).pipe(Effect.flip)).toBe("no")
      expect(yield* FiberRef.get(ref)).toBe("set inside")
    }))

  it.effect("an update past its deadline gets the apology and its entry fails with the reason", () => {
    const apologies: Array<number> = []
    return Effect.gen(function*() {
      const runner = yield* UpdateRunner
      const job = yield* recorded(71)
      const before = yield* processed("deadline")
      const fiber = yield* Effect.fork(runner.run(job))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(fiber)
      expect(apologies).toEqual([71])
      const entry = yield* entryOf(71)
      expect(entry.status).toBe("failed")
      expect(entry.error).toBe("deadline exceeded")
      expect((yield* processed("deadline")) - before).toBe(1)
    }).pipe(Effect.provide(runnerWith(() => Effect.never, apologies)))
  })

  it.effect("an answer committed before the deadline finishes, with no apology", () => {
    const apologies: Array<number> = []
    return Effect.gen(function*() {
      const runner = yield* UpdateRunner
      const job = yield* recorded(72)
      const fiber = yield* Effect.fork(runner.run(job))
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(fiber)
      expect(apologies).toEqual([])
      expect((yield* entryOf(72)).status).toBe("done")
    }).pipe(Effect.provide(runnerWith(
      () => commitAnswer.pipe(Effect.zipRight(Effect.sleep("8 seconds")), Effect.as(answered)),
      apologies
    )))
  })

  it.effect("a user who blocked the bot gets no apology; the entry is done", () => {
    const apologies: Array<number> = []
    return Effect.gen(function*() {
      const runner = yield* UpdateRunner
      yield* runner.run(yield* recorded(73))
      expect(apologies).toEqual([])
      expect((yield* entryOf(73)).status).toBe("done")
    }).pipe(Effect.provide(runnerWith(() => Effect.fail(new RecipientBlocked({ chatId: 3 })), apologies)))
  })

  it.effect("a store failure is retried: the second attempt answers", () => {
    const apologies: Array<number> = []
    return Effect.gen(function*() {
      const runner = yield* UpdateRunner
      const fiber = yield* Effect.fork(runner.run(yield* recorded(74)))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(fiber)
      expect(apologies).toEqual([])
      expect((yield* entryOf(74)).status).toBe("done")
    }).pipe(Effect.provide(runnerWith(
      (attempt) =>
        attempt === 1 ? Effect.fail(new StoreError({ operation: "append", message: "down" })) : Effect.succeed(answered),
      apologies
    )))
  })
})
