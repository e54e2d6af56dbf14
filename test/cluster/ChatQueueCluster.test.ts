/**
 * The chats' queues on `@effect/cluster` over a real PostgreSQL (a database of this file's
 * own): a chat's updates run once each and in order, a second send of an update is stored
 * and run once, an update that overtakes older pending ones of its chat runs after them, an update settled in the inbox is not run again, what the inbox records as
 * delivered reaches the runner, pending entries are sent again by `recover`, and the
 * housekeeping prunes processed messages only, and a stop reaches the running turn of its conversation (from another replica, and
 * while shards move: test/cluster/stop.test.ts).
 */
import { SqlClient } from "@effect/sql"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Layer, Metric, Option, Redacted } from "effect"
import { inboxPending } from "../../src/observability/Metrics.ts"
import { ChatQueueCluster } from "../../src/cluster/ChatQueueCluster.ts"
import { ClusterConfig } from "../../src/cluster/ClusterConfig.ts"
import { pruneMessages } from "../../src/cluster/ClusterMaintenance.ts"
import { ClusterRunner } from "../../src/cluster/ClusterRunner.ts"
import { makeRunningTurns, RunningTurns, type RunningTurnsService } from "../../src/dialog/RunningTurns.ts"
import { decodeUpdate, type MessageGenerationStopped } from "../../src/domain/Update.ts"
import { ChatQueue, chatKey, type ChatQueueService } from "../../src/runtime/ChatQueue.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { type UpdateJob, UpdateRunner } from "../../src/runtime/UpdateRunner.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { textMessage } from "../../src/testing/index.ts"
import { id } from "../store/contract.ts"
import { freePort } from "../support/BotProcess.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { eventually } from "../support/realTime.ts"

const server = await postgresForTests("cluster_queue")
const url = Redacted.make(server._tag === "Ready" ? server.url : "postgres://127.0.0.1:1/none")

/** The jobs the runner was handed, in order; each is marked done in the inbox as a real run would. */
const makeRuns = () => {
  const runs: Array<UpdateJob> = []
  const layer = Layer.effect(
    UpdateRunner,
    Effect.map(Inbox, (inbox) =>
      UpdateRunner.of({
        // Marked done before it is seen as run: a test that waits for a run then finds it settled.
        run: (job) => Effect.zipRight(Effect.orDie(inbox.markDone(job.updateId)), Effect.sync(() => runs.push(job))),
        markDone: (updateId, note) => Effect.orDie(inbox.markDone(updateId, note)),
        markFailed: (updateId, reason) => Effect.orDie(inbox.markFailed(updateId, reason))
      }))
  )
  return { runs, layer }
}

/** The queue on a runner of its own (a free port), over the PostgreSQL stores. */
const clusterQueue = (
  runnerLayer: Layer.Layer<UpdateRunner, never, Inbox>,
  dispatcher = DispatcherConfig.make(),
  turns: Layer.Layer<never> | Layer.Layer<RunningTurns> = Layer.empty
) =>
  Effect.gen(function*() {
    const runnerPort = yield* freePort
    const config = yield* ClusterConfig.config.pipe(Effect.orDie)
    const settings = { ...config, runnerPort, shards: 8, messagePoll: Duration.seconds(1) }
    const stores = Layer.orDie(StoresPostgres({ url }))
    const runner = Layer.orDie(ClusterRunner({ config: settings, shutdownDeadline: Duration.seconds(20), url, poolSize: 4 }))
    return ChatQueueCluster.pipe(
      Layer.provide(Layer.mergeAll(runnerLayer, dispatcher, ClusterConfig.make(settings), turns)),
      Layer.provideMerge(Layer.merge(stores, runner))
    )
  }).pipe(Layer.unwrapEffect)

const record = (update: ReturnType<typeof textMessage>) =>
  Effect.flatMap(Inbox, (inbox) =>
    inbox.record({ updateId: id(update.update_id), chatId: id(update.message.chat.id), payload: JSON.stringify(update) }))

const jobOf = (update: ReturnType<typeof textMessage>) =>
  Effect.map(decodeUpdate(update), (decoded): UpdateJob => ({
    updateId: id(update.update_id),
    key: chatKey(decoded),
    update: decoded,
    flooded: false,
    intake: Option.none(),
    queuedAt: Date.now(),
    deliveredBefore: 0
  }))

const runIds = (runs: ReadonlyArray<UpdateJob>, chat?: number) =>
  runs.filter((job) => chat === undefined || job.key === `chat:${chat}`).map((job) => Number(job.updateId))

const dana = 811223344
const storyDraft = 4242
const stopOf = (draft: number): MessageGenerationStopped => ({ chat: { id: id(dana), type: "private" }, draft_id: draft })

/**
 * A runner (replica `name`) whose turns show draft 4242 and run until they are stopped (or a
 * minute passes); `started` says which replica runs one, `stopped` gets the stopped updates.
 */
const storyRunner = (name: string, turns: RunningTurnsService, started: Deferred.Deferred<string>, stopped: Array<number>) =>
  Layer.effect(
    UpdateRunner,
    Effect.map(Inbox, (inbox) =>
      UpdateRunner.of({
        run: (job) =>
          Effect.scoped(Effect.flatMap(turns.enter(id(dana), storyDraft), (stop) =>
            Effect.zipRight(
              Deferred.succeed(started, name),
              Effect.raceFirst(Effect.as(stop, true), Effect.as(Effect.sleep("1 minute"), false))
            ))).pipe(
              Effect.tap((wasStopped) => Effect.sync(() => wasStopped && stopped.push(Number(job.updateId)))),
              Effect.zipRight(Effect.orDie(inbox.markDone(job.updateId)))
            ),
        markDone: (updateId, note) => Effect.orDie(inbox.markDone(updateId, note)),
        markFailed: (updateId, reason) => Effect.orDie(inbox.markFailed(updateId, reason))
      }))
  )

/** Dana asks for a long story (update `updateId`), recorded in the inbox and submitted. */
const submitStory = (queue: ChatQueueService, updateId: number) =>
  Effect.gen(function*() {
    const update = textMessage({ updateId, userId: dana, text: "write me a long story" })
    yield* record(update)
    const job = yield* jobOf(update)
    yield* queue.submit(job)
    return job
  })

describe.skipIf(server._tag !== "Ready")(whenReady(server, "ChatQueueCluster on PostgreSQL"), () => {
  it.live("runs each chat's updates once each and in order; a second send of an update is not run again", () => {
    const { layer, runs } = makeRuns()
    return Effect.gen(function*() {
      const queue = yield* ChatQueue
      const inbox = yield* Inbox
      const anna = 6021488832
      const group = -1001234567890
      const updates = [
        textMessage({ updateId: 1001, userId: anna, text: "hello" }),
        textMessage({ updateId: 1002, userId: 7, chatId: group, text: "hi all" }),
        textMessage({ updateId: 1003, userId: anna, text: "How much is delivery?" }),
        textMessage({ updateId: 1004, userId: anna, text: "Can I return an item?" }),
        textMessage({ updateId: 1005, userId: 7, chatId: group, text: "opening hours?" })
      ]
      for (const u of updates) yield* record(u)
      // An earlier run delivered two messages of 1003's reply: the runner is told.
      yield* inbox.markDelivered(id(1003), 2)
      for (const u of updates) yield* queue.submit(yield* jobOf(u))
      yield* queue.submit(yield* jobOf(updates[0]!))
      yield* eventually(Effect.sync(() => runs.length), (n) => n >= 5, "30 seconds")
      // A later update of the chat runs after anything sent before it: the second send of 1001 would show up first.
      const last = textMessage({ updateId: 1006, userId: anna, text: "thanks" })
      yield* record(last)
      yield* queue.submit(yield* jobOf(last))
      yield* eventually(Effect.sync(() => runIds(runs)), (ids) => ids.includes(1006), "30 seconds")

      expect(runIds(runs, anna)).toEqual([1001, 1003, 1004, 1006])
      expect(runIds(runs, group)).toEqual([1002, 1005])
      expect(runs.find((job) => job.updateId === 1003)?.deliveredBefore).toBe(2)
      expect(runs.find((job) => job.updateId === 1001)?.deliveredBefore).toBe(0)
      expect(yield* inbox.pendingCount).toBe(0)
    }).pipe(Effect.provide(clusterQueue(layer)))
  }, 60_000)

  it.live("recover sends the pending entries again; an update settled in the inbox is not run", () => {
    const { layer, runs } = makeRuns()
    return Effect.gen(function*() {
      const queue = yield* ChatQueue
      const inbox = yield* Inbox
      const ben = 523746101
      const pending = textMessage({ updateId: 2001, userId: ben, text: "hello" })
      const settled = textMessage({ updateId: 2002, userId: ben, text: "already answered" })
      const after = textMessage({ updateId: 2003, userId: ben, text: "and now?" })
      yield* record(pending)
      yield* record(settled)
      yield* record(after)
      yield* inbox.markDone(id(2002))
      yield* queue.submit(yield* jobOf(settled))
      // 2001 and 2003 are pending: recover sends both (2002 is done and not among them).
      expect(yield* queue.recover).toBe(2)
      yield* eventually(Effect.sync(() => runIds(runs, ben)), (ids) => ids.includes(2003), "30 seconds")
      expect(runIds(runs, ben)).toEqual([2001, 2003])
      // Recovering again finds nothing pending.
      expect(yield* queue.recover).toBe(0)
    }).pipe(Effect.provide(clusterQueue(layer)))
  }, 60_000)

  it.live("the backlog (pending entries of the shared inbox) is a gauge on the replica", () => {
    // A runner that never finishes: what is recorded stays pending.
    const stuck = Layer.succeed(UpdateRunner, UpdateRunner.of({ run: () => Effect.never, markDone: () => Effect.void, markFailed: () => Effect.void }))
    return Effect.gen(function*() {
      const inbox = yield* Inbox
      const cid = 523746301
      for (const updateId of [3101, 3102, 3103]) yield* record(textMessage({ updateId, userId: cid, text: "hello" }))
      const pending = yield* inbox.pendingCount
      expect(pending).toBeGreaterThanOrEqual(3)
      const gauge = Effect.map(Metric.value(inboxPending), (state) => state.value)
      expect(yield* eventually(gauge, (value) => value === pending, "30 seconds")).toBe(pending)
      for (const updateId of [3101, 3102, 3103]) yield* inbox.markDone(id(updateId))
      expect(yield* eventually(gauge, (value) => value === pending - 3, "30 seconds")).toBe(pending - 3)
    }).pipe(Effect.provide(clusterQueue(stuck)))
  }, 60_000)

  it.live("an update that overtakes older pending ones of its chat runs after them; their own messages then run nothing", () => {
    const { layer, runs } = makeRuns()
    return Effect.gen(function*() {
      const queue = yield* ChatQueue
      const carl = 777000111
      const older = textMessage({ updateId: 4001, userId: carl, text: "first" })
      const newer = textMessage({ updateId: 4002, userId: carl, text: "second" })
      const last = textMessage({ updateId: 4003, userId: carl, text: "third" })
      yield* record(older)
      yield* record(newer)
      // 4002's message arrives before 4001's (as after a takeover): 4001 still runs first.
      yield* queue.submit(yield* jobOf(newer))
      yield* queue.submit(yield* jobOf(older))
      yield* record(last)
      yield* queue.submit(yield* jobOf(last))
      yield* eventually(Effect.sync(() => runIds(runs, carl)), (ids) => ids.includes(4003), "30 seconds")
      expect(runIds(runs, carl)).toEqual([4001, 4002, 4003])
    }).pipe(Effect.provide(clusterQueue(layer)))
  }, 60_000)

  it.live("flood protection is judged in the chat's entity: the user is told once, later updates are dropped and settled", () => {
    const { layer, runs } = makeRuns()
    return Effect.gen(function*() {
      const queue = yield* ChatQueue
      const inbox = yield* Inbox
      const dora = 888000222
      const burst = [5001, 5002, 5003, 5004].map((updateId) => textMessage({ updateId, userId: dora, text: "spam" }))
      for (const u of burst) {
        yield* record(u)
        // All four came in at the same moment.
        yield* queue.submit({ ...(yield* jobOf(u)), queuedAt: 1_764_300_000_000 })
      }
      yield* eventually(inbox.pendingCount, (n) => n === 0, "30 seconds")
      expect(runs.filter((job) => job.key === `chat:${dora}`).map((job) => [Number(job.updateId), job.flooded])).toEqual([
        [5001, false],
        [5002, false],
        [5003, true]
      ])
      const dropped = yield* inbox.entry(id(5004))
      expect(Option.map(dropped, (e) => [e.status, e.error ?? ""])).toEqual(Option.some(["done", expect.stringContaining("flood")]))
    }).pipe(Effect.provide(clusterQueue(layer, DispatcherConfig.make({ floodBurst: 2, floodRefill: Duration.minutes(1) }))))
  }, 60_000)

  it.live("the housekeeping deletes processed messages and their replies, never unprocessed ones", () => {
    const { layer, runs } = makeRuns()
    return Effect.gen(function*() {
      const queue = yield* ChatQueue
      const sql = yield* SqlClient.SqlClient
      const u = textMessage({ updateId: 3001, userId: 42, text: "hello" })
      yield* record(u)
      yield* queue.submit(yield* jobOf(u))
      yield* eventually(Effect.sync(() => runIds(runs)), (ids) => ids.includes(3001), "30 seconds")
      // Processed messages are marked so once the handler's reply is stored.
      yield* eventually(
        sql<{ readonly n: string }>`SELECT count(*) AS n FROM cluster_messages WHERE processed = false AND entity_type = 'Chat'`,
        (rows) => Number(rows[0]?.n) === 0,
        "30 seconds"
      )
      // An unprocessed message (one due later, so that no runner takes it meanwhile) is kept.
      yield* sql`UPDATE cluster_messages SET processed = false, deliver_at = 9007199254740991 WHERE id = (SELECT max(id) FROM cluster_messages WHERE entity_type = 'Chat')`
      // Nothing is older than a retention of a minute ago.
      expect(yield* pruneMessages(Date.now() - 60_000)).toBe(0)
      const pruned = yield* pruneMessages(Date.now() + 1_000)
      expect(pruned).toBeGreaterThan(0)
      const left = yield* sql<{ readonly processed: boolean }>`SELECT processed FROM cluster_messages WHERE entity_type = 'Chat'`
      expect(left.map((row) => row.processed)).toEqual([false])
      const orphans = yield* sql<{ readonly n: string }>`
        SELECT count(*) AS n FROM cluster_replies r WHERE NOT EXISTS (SELECT 1 FROM cluster_messages m WHERE m.id = r.request_id)`
      expect(Number(orphans[0]?.n)).toBe(0)
    }).pipe(Effect.provide(clusterQueue(layer)))
  }, 60_000)

  it.live("a stop reaches the running turn of its conversation, not behind its queue", () => {
    const stopped: Array<number> = []
    return Effect.gen(function*() {
      const turns = yield* makeRunningTurns
      const started = yield* Deferred.make<string>()
      yield* Effect.gen(function*() {
        const queue = yield* ChatQueue
        const job = yield* submitStory(queue, 6001)
        yield* Deferred.await(started)
        // Another draft's stop finds nothing; the running turn's stops it, though the entity is busy running it.
        expect(yield* queue.stop(job.key, stopOf(storyDraft + 1))).toBe(false)
        expect(yield* queue.stop(job.key, stopOf(storyDraft))).toBe(true)
        yield* eventually(Effect.sync(() => stopped), (ids) => ids.includes(6001), "10 seconds")
        // The turn has ended: a stop for it now is ignored.
        expect(yield* queue.stop(job.key, stopOf(storyDraft))).toBe(false)
      }).pipe(Effect.provide(clusterQueue(storyRunner("a", turns, started, stopped), DispatcherConfig.make(), Layer.succeed(RunningTurns, turns))))
    })
  }, 60_000)
})
