/**
 * The in-process chat queue on its own, over a scripted runner and the memory inbox: one key
 * strictly in order, keys in parallel under the global limit, payloads above the in-memory
 * bound parked in the inbox and read back when their turn comes, drain and shutdown, recovery.
 */
import { describe, expect, it } from "@effect/vitest"
import { Clock, Context, Duration, Effect, Fiber, Layer, Option, TestClock } from "effect"
import { decodeUpdate, type TelegramId } from "../../src/domain/Update.ts"
import { ChatQueue, ChatQueueInProcess, chatKey } from "../../src/runtime/ChatQueue.ts"
import { DispatcherConfig, type DispatcherConfigShape } from "../../src/runtime/DispatcherConfig.ts"
import { type UpdateJob, UpdateRunner } from "../../src/runtime/UpdateRunner.ts"
import { InboxMemory } from "../../src/store/memory/MemoryStores.ts"
import { Inbox, textMessage } from "../../src/testing/index.ts"

interface Run {
  readonly job: UpdateJob
  readonly startedAt: number
  endedAt?: number
}

/**
 * A queue over the memory inbox and a runner that takes `seconds` of (test) time per job and
 * records each run. Returns the queue, the inbox, the runs in start order, the entries the
 * queue settled itself, and `job` (records a message of `userId` in the inbox, returns its job).
 */
const harness = (settings: Partial<DispatcherConfigShape>, seconds = 1) =>
  Effect.gen(function*() {
    const runs: Array<Run> = []
    const settled: Array<string> = []
    const runner = Layer.succeed(UpdateRunner, {
      run: (job) =>
        Effect.gen(function*() {
          const run: Run = { job, startedAt: yield* Clock.currentTimeMillis }
          runs.push(run)
          yield* Effect.sleep(Duration.seconds(seconds))
          run.endedAt = yield* Clock.currentTimeMillis
        }),
      markDone: (updateId, note) => Effect.sync(() => void settled.push(`done ${updateId} ${note ?? ""}`)),
      markFailed: (updateId, reason) => Effect.sync(() => void settled.push(`failed ${updateId} ${reason}`))
    })
    const context = yield* Layer.build(
      ChatQueueInProcess.pipe(Layer.provideMerge(Layer.mergeAll(runner, InboxMemory, DispatcherConfig.make(settings))))
    )
    const queue = Context.get(context, ChatQueue)
    const inbox = Context.get(context, Inbox)
    const job = (userId: number, updateId: number) =>
      Effect.gen(function*() {
        const raw = textMessage({ userId, text: `m${updateId}`, updateId })
        const update = yield* decodeUpdate(raw)
        yield* inbox.record({ updateId: update.update_id, chatId: userId as TelegramId, payload: JSON.stringify(raw) })
        const job: UpdateJob = {
          updateId: update.update_id,
          key: chatKey(update),
          update,
          flooded: false,
          intake: Option.none(),
          queuedAt: 0,
          deliveredBefore: 0
        }
        return job
      }).pipe(Effect.orDie)
    return { queue, inbox, runs, settled, job }
  })

const idsOf = (runs: ReadonlyArray<Run>, key?: string) =>
  runs.filter((r) => key === undefined || r.job.key === key).map((r) => Number(r.job.updateId))

/** Waits for the queue to be idle, moving the test clock `seconds` on. */
const settle = (queue: ChatQueue["Type"], seconds: number) =>
  Effect.gen(function*() {
    const idle = yield* Effect.fork(queue.awaitIdle)
    yield* TestClock.adjust(Duration.seconds(seconds))
    yield* Fiber.join(idle)
  })

describe("ChatQueue (in process)", () => {
  it.scoped("runs one key strictly in order and keys in parallel, never more than the limit at once", () =>
    Effect.gen(function*() {
      const { job, queue, runs } = yield* harness({ maxConcurrentDialogs: 2 })
      const jobs = yield* Effect.forEach([[1, 11], [1, 12], [1, 13], [2, 21], [2, 22], [3, 31]], ([user, id]) => job(user!, id!))
      yield* Effect.forEach(jobs, queue.submit, { discard: true })
      expect(yield* queue.outstanding).toBe(6)
      yield* TestClock.adjust("0 millis")
      expect(idsOf(runs)).toEqual([11, 21])

      yield* settle(queue, 4)
      expect(idsOf(runs, "chat:1")).toEqual([11, 12, 13])
      expect(idsOf(runs, "chat:2")).toEqual([21, 22])
      expect(idsOf(runs, "chat:3")).toEqual([31])
      // Within a key each job starts once the previous one has ended; at most two run at once.
      for (const key of ["chat:1", "chat:2"]) {
        const ofKey = runs.filter((r) => r.job.key === key)
        ofKey.slice(1).forEach((r, i) => expect(r.startedAt).toBeGreaterThanOrEqual(ofKey[i]!.endedAt!))
      }
      for (const r of runs) {
        expect(runs.filter((o) => o.startedAt <= r.startedAt && o.endedAt! > r.startedAt).length).toBeLessThanOrEqual(2)
      }
      // Chats take turns: the third chat runs as soon as a worker is free, before any chat's second job.
      expect(runs.find((r) => r.job.updateId === 31)!.startedAt).toBe(1_000)
      expect(yield* queue.outstanding).toBe(0)
    }))

  it.scoped("at the limit, another chat waits for a free worker", () =>
    Effect.gen(function*() {
      const { job, queue, runs } = yield* harness({ maxConcurrentDialogs: 1 })
      yield* queue.submit(yield* job(1, 11))
      yield* queue.submit(yield* job(2, 21))
      yield* TestClock.adjust("0 millis")
      expect(idsOf(runs)).toEqual([11])
      yield* TestClock.adjust("1 second")
      expect(idsOf(runs)).toEqual([11, 21])
      yield* settle(queue, 1)
    }))

  it.scoped("above maxQueuedInMemory only ids wait: payloads are read from the inbox in their turn", () =>
    Effect.gen(function*() {
      const { inbox, job, queue, runs, settled } = yield* harness({ maxConcurrentDialogs: 1, maxQueuedInMemory: 2 })
      const jobs = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => job(1, 100 + i))
      yield* Effect.forEach(jobs, queue.submit, { discard: true })
      // Before their turn: 103 has a message delivered by an earlier run, 104 is settled elsewhere.
      yield* inbox.markDelivered(103 as TelegramId, 1)
      yield* inbox.markDone(104 as TelegramId)
      yield* settle(queue, 5)

      expect(idsOf(runs)).toEqual([101, 102, 103, 105])
      // The first two were kept decoded (the very objects submitted); the third was read again.
      expect(runs[0]!.job.update).toBe(jobs[0]!.update)
      expect(runs[1]!.job.update).toBe(jobs[1]!.update)
      expect(runs[2]!.job.update).not.toBe(jobs[2]!.update)
      expect(runs[2]!.job.update).toEqual(jobs[2]!.update)
      expect(runs[2]!.job.deliveredBefore).toBe(1)
      expect(yield* queue.outstanding).toBe(0)
      expect(settled).toEqual([])
    }))

  it.scoped("a parked payload that no longer decodes is marked failed, not run", () =>
    Effect.gen(function*() {
      const { inbox, job, queue, runs, settled } = yield* harness({ maxConcurrentDialogs: 1, maxQueuedInMemory: 1 })
      yield* queue.submit(yield* job(1, 201))
      yield* inbox.record({ updateId: 202 as TelegramId, chatId: 1 as TelegramId, payload: "{\"update_id\":" })
      yield* queue.submit({ ...(yield* job(1, 203)), updateId: 202 as TelegramId })
      yield* settle(queue, 2)
      expect(idsOf(runs)).toEqual([201])
      expect(settled).toHaveLength(1)
      expect(settled[0]).toMatch(/^failed 202 undecodable: /)
    }))

  it.scoped("awaitIdle waits for every queued job; shutdown drains until its deadline, then interrupts", () =>
    Effect.gen(function*() {
      const { job, queue, runs } = yield* harness({ maxConcurrentDialogs: 4, shutdownDeadline: Duration.seconds(2) }, 3)
      yield* queue.submit(yield* job(1, 11))
      yield* queue.submit(yield* job(1, 12))
      const idle = yield* Effect.fork(queue.awaitIdle)
      yield* TestClock.adjust("5 seconds")
      expect(idle.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(idle)

      yield* queue.submit(yield* job(2, 21))
      yield* queue.submit(yield* job(2, 22))
      const shutdown = yield* Effect.fork(queue.shutdown)
      const again = yield* Effect.fork(queue.shutdown)
      yield* TestClock.adjust("1 second")
      expect(shutdown.unsafePoll()).toBeNull()
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(shutdown)
      yield* Fiber.join(again)
      // 21 was cut short by the deadline, 22 never started: both are still outstanding.
      expect(idsOf(runs, "chat:2")).toEqual([21])
      expect(runs.at(-1)!.endedAt).toBeUndefined()
      expect(yield* queue.outstanding).toBe(2)
    }))

  it.scoped("recover queues the inbox's pending entries in order and fails the undecodable ones", () =>
    Effect.gen(function*() {
      const { inbox, job, queue, runs, settled } = yield* harness({})
      yield* job(1, 301)
      yield* job(1, 302)
      yield* job(2, 303)
      yield* inbox.markDone(302 as TelegramId)
      yield* inbox.record({ updateId: 304 as TelegramId, payload: "not json" })
      yield* inbox.markDelivered(303 as TelegramId, 2)
      expect(yield* queue.recover).toBe(2)
      yield* settle(queue, 1)
      expect(idsOf(runs).sort()).toEqual([301, 303])
      expect(runs.find((r) => r.job.updateId === 303)!.job.deliveredBefore).toBe(2)
      expect(settled).toHaveLength(1)
      expect(settled[0]).toMatch(/^failed 304 undecodable: /)
    }))
})
