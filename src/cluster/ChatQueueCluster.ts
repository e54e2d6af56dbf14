/**
 * The chats' queues on `@effect/cluster`, for several replicas on one PostgreSQL database:
 * a chat is a `ChatEntity` with concurrency 1 that lives on one replica at a time, and an
 * update a persisted message to it. `submit` returns once the message is stored (the webhook
 * acknowledges then; a failure fails the submit, and the webhook answers 5xx). The entity
 * hands each update to `UpdateRunner` in this process, with what the inbox says an earlier
 * run already delivered, so a re-run after a crash does not send it again.
 *
 * Flood protection runs in the entity too (`gatesFloods`): a chat's buckets live with it,
 * judged at the time each update came in, so updates spread over replicas count together.
 *
 * Every replica shows the cluster's backlog: `bot_inbox_pending` is the count of pending
 * entries in the shared inbox, read every {@link backlogEvery} (the in-process queue counts its
 * own instead).
 *
 * `recover` sends every pending inbox entry again (stored once whichever replica sends it);
 * `ClusterMaintenance` does the same every minute for entries whose message was never stored.
 * `outstanding`, `awaitIdle` and `shutdown` speak of the updates running in this replica;
 * after `shutdown`, `outstanding` counts those it interrupted and left pending for another, and
 * `leftPending` the shared inbox's pending entries (what the stop line reports).
 *
 * `stop` (the Stop button) is asked of every replica at once (`TurnStops`): the replica that
 * runs the turn answers, wherever the conversation's shard is, also while it moves.
 *
 * Quick successive messages are not merged here (`MERGE_WINDOW` applies to the in-process
 * queue only): a replica starting with both says so once.
 */
import * as Entity from "@effect/cluster/Entity"
import type { Sharding } from "@effect/cluster/Sharding"
import { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { Clock, Duration, Effect, ExecutionStrategy, Exit, Layer, Metric, Option, Schedule, Scope } from "effect"
import type { InboxEntry } from "../domain/Dialog.ts"
import { StoreError } from "../domain/errors.ts"
import { decodeUpdateJson, type TelegramId } from "../domain/Update.ts"
import { inboxPending, updatesFlooded } from "../observability/Metrics.ts"
import { Inbox } from "../store/Inbox.ts"
import { pendingBefore } from "../store/postgres/pendingBefore.ts"
import { ChatQueue, chatKey, floodSender } from "../runtime/ChatQueue.ts"
import { DispatcherConfig } from "../runtime/DispatcherConfig.ts"
import { type FloodGate, makeFloodGate } from "../runtime/FloodGate.ts"
import { floodNote, UpdateRunner } from "../runtime/UpdateRunner.ts"
import { ChatEntity } from "./ChatEntity.ts"
import { RunningTurns } from "../dialog/RunningTurns.ts"
import { ClusterConfig, terminationTimeout } from "./ClusterConfig.ts"
import { makeTurnStops } from "./TurnStops.ts"

/**
 * Reading an update's inbox entry when its turn comes: the chat cannot go on without it, so
 * it is read again (from 100 ms, at most every 5 s) until the store answers or the replica stops.
 */
const readRetry = Schedule.exponential("100 millis", 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(5)))
)

/** Sending a message again after a full mailbox or a passing storage failure: briefly, then the caller is told. */
const sendRetry = Schedule.exponential("50 millis", 2).pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(3)))

/** How often a replica reads the backlog (pending entries of the shared inbox) into its gauge: one count query. */
export const backlogEvery = Duration.seconds(5)

/**
 * Updates running in this replica, a latch open while none is, and the stop: once stopping,
 * no update starts here. A message whose turn comes then waits, and is interrupted with its
 * entity at termination (an interruption at shutdown stores no reply), so it runs on the
 * replica that takes the chat over. Runs interrupted at the stop are counted as handed over.
 */
const makeLocalRuns = Effect.gen(function*() {
  let running = 0
  let handedOver = 0
  let stopping = false
  const idle = yield* Effect.makeLatch(true)
  const track = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
    Effect.suspend(() =>
      stopping
        ? Effect.never
        : Effect.acquireUseRelease(
          Effect.sync(() => {
            running++
            idle.unsafeClose()
          }),
          () => effect,
          (_, exit) =>
            Effect.sync(() => {
              running--
              if (stopping && Exit.isInterrupted(exit)) handedOver++
              if (running === 0) idle.unsafeOpen()
            })
        )
    )
  return {
    track,
    /** Running here, and (after the stop) interrupted and left pending for another replica. */
    outstanding: Effect.sync(() => running + handedOver),
    idle: idle.await,
    stop: Effect.sync(() => {
      stopping = true
    })
  }
})

interface Message {
  readonly updateId: TelegramId
  readonly flooded: boolean
  readonly queuedAt: number
}

/** Reads what the store has until it answers (the chat cannot go on without it). */
const untilRead = <A>(read: Effect.Effect<A, StoreError>) =>
  read.pipe(
    Effect.tapError((e) => Effect.logWarning(`inbox not read, trying again: ${e.message}`)),
    Effect.retry(readRetry),
    Effect.orDie
  )

/**
 * The handler of one update of a chat: its earlier pending updates first (a message can
 * overtake older ones right after the chat moved to this replica), then the update itself.
 * Each runs only while its inbox entry is pending: one an earlier run finished is skipped.
 */
const runUpdate = (inbox: Inbox["Type"], runner: UpdateRunner["Type"], sql: SqlClient.SqlClient) => {
  const runEntry = (key: string, message: Message, gate: FloodGate) =>
    Effect.gen(function*() {
      const entry = yield* untilRead(inbox.entry(message.updateId))
      if (Option.isNone(entry) || entry.value.status !== "pending") {
        return yield* Effect.logDebug("update already settled, not run again")
      }
      const update = yield* Effect.either(decodeUpdateJson(entry.value.payload))
      if (update._tag === "Left") {
        return yield* runner.markFailed(message.updateId, `undecodable: ${update.left.message.slice(0, 200)}`)
      }
      // An earlier update of the same chat under another key (another topic) is not this entity's.
      if (chatKey(update.right) !== key) return
      // Flood protection per chat, judged at the time the update came in.
      const sender = floodSender(update.right)
      const admitted = Option.isSome(sender) ? gate.admit(sender.value, message.queuedAt) : "Allowed"
      if (admitted !== "Allowed") {
        yield* Metric.increment(updatesFlooded)
        yield* Effect.logInfo(`update dropped by flood protection${admitted === "DroppedWithNotice" ? ", the user is told" : ""}`)
      }
      if (admitted === "Dropped") return yield* runner.markDone(message.updateId, floodNote)
      yield* runner.run({
        updateId: message.updateId,
        key,
        update: update.right,
        flooded: message.flooded || admitted === "DroppedWithNotice",
        intake: Option.none(),
        queuedAt: message.queuedAt,
        deliveredBefore: entry.value.delivered
      })
    }).pipe(Effect.annotateLogs({ update_id: message.updateId, chat_key: key }))

  return (key: string, message: Message, gate: FloodGate) =>
    Effect.gen(function*() {
      const entry = yield* untilRead(inbox.entry(message.updateId))
      if (Option.isNone(entry) || entry.value.status !== "pending") return
      const chatId = entry.value.chatId
      if (chatId !== undefined) {
        const earlier = yield* untilRead(Effect.provideService(pendingBefore(chatId, message.updateId), SqlClient.SqlClient, sql))
        if (earlier.length > 0) yield* Effect.logInfo(`${earlier.length} earlier pending updates of the chat run first`)
        yield* Effect.forEach(earlier, (updateId) => runEntry(key, { updateId, flooded: false, queuedAt: message.queuedAt }, gate), {
          discard: true
        })
      }
      yield* runEntry(key, message, gate)
    })
}

/**
 * The cluster's chat queue; needs `Sharding` (this replica as a runner), the cluster's
 * PostgreSQL (the stops' channel), the inbox and the update runner.
 */
export const makeChatQueueCluster = Effect.gen(function*() {
  const inbox = yield* Inbox
  const runner = yield* UpdateRunner
  const dispatcher = yield* DispatcherConfig
  const cluster = yield* ClusterConfig
  const local = yield* makeLocalRuns
  if (Duration.toMillis(dispatcher.mergeWindow) > 0) {
    yield* Effect.logWarning("MERGE_WINDOW is not applied with CLUSTER=true: each message is answered on its own")
  }
  const handle = runUpdate(inbox, runner, yield* SqlClient.SqlClient)
  // Stops reach the running turns of this replica wherever their shards are (none without the
  // registry); it listens for them before it takes any update.
  const stops = yield* makeTurnStops(yield* Effect.serviceOption(RunningTurns))
  yield* inbox.pendingCount.pipe(
    Effect.flatMap((pending) => Metric.set(inboxPending, pending)),
    Effect.catchAll((e) => Effect.logDebug(`backlog not read: ${e.message}`)),
    Effect.repeat(Schedule.spaced(backlogEvery)),
    Effect.forkScoped
  )

  // The entities live in a scope of their own, closed by `shutdown` before the rest of the bot stops.
  const entities = yield* Scope.fork(yield* Effect.scope, ExecutionStrategy.sequential)
  yield* Layer.buildWithScope(
    ChatEntity.toLayer(
      Effect.map(Entity.CurrentAddress, (address) => {
        // The chat's flood buckets live with its entity: wherever the chat runs, it is judged there.
        const gate = makeFloodGate({
          burst: dispatcher.floodBurst,
          refill: dispatcher.floodRefill,
          noticeInterval: dispatcher.floodNoticeInterval
        })
        return ChatEntity.of({ Update: (request) => local.track(handle(address.entityId, request.payload, gate)) })
      }),
      { concurrency: 1 }
    ),
    entities
  )
  const client = yield* ChatEntity.client

  const send = (key: string, message: Message) =>
    client(key).Update(message, { discard: true }).pipe(
      Effect.retry(sendRetry),
      Effect.mapError((e) =>
        new StoreError({ operation: "cluster_send", message: `update not stored as a cluster message: ${e._tag}`, retryable: true })
      ),
      Effect.withSpan("cluster.send", { attributes: { update_id: message.updateId } })
    )

  /** Sends a pending entry again under its chat's key; 1 when sent, 0 when it cannot be decoded (marked failed). */
  const resend = (entry: InboxEntry): Effect.Effect<number, StoreError> =>
    Effect.either(decodeUpdateJson(entry.payload)).pipe(
      Effect.flatMap((update) =>
        update._tag === "Left"
          ? Effect.as(runner.markFailed(entry.updateId, `undecodable: ${update.left.message.slice(0, 200)}`), 0)
          : Effect.flatMap(Clock.currentTimeMillis, (queuedAt) =>
            Effect.as(send(chatKey(update.right), { updateId: entry.updateId, flooded: false, queuedAt }), 1))
      )
    )

  // An entry older than the cluster's retention (less an hour) is not sent again: its message,
  // if it ran, may be pruned already, and sending it again would run it a second time.
  const recover = Effect.gen(function*() {
    const entries = yield* inbox.pending()
    const oldest = (yield* Clock.currentTimeMillis) - Duration.toMillis(cluster.retention) + 3_600_000
    const recent = entries.filter((entry) => entry.receivedAt >= oldest)
    if (recent.length < entries.length) {
      yield* Effect.logWarning(`${entries.length - recent.length} pending updates are older than CLUSTER_RETENTION and are left as they are`)
    }
    const counts = yield* Effect.forEach(recent, resend)
    const count = counts.reduce((a, b) => a + b, 0)
    if (count > 0) yield* Effect.logDebug(`sent ${count} pending updates from the inbox to the cluster again`)
    return count
  })

  // Stopping: no update starts here any more, and the chats' entities terminate at once. The
  // dialogs in flight get the termination timeout (SHUTDOWN_DEADLINE unless
  // CLUSTER_TERMINATION_TIMEOUT); the rest are interrupted and stay pending, and the replica
  // leaves the cluster (the library's preemptive shutdown), so its chats move to another.
  const shutdown = yield* Effect.cached(Effect.zipRight(local.stop, Scope.close(entities, Exit.void)))

  return ChatQueue.of({
    submit: (job) => send(job.key, { updateId: job.updateId, flooded: job.flooded, queuedAt: job.queuedAt }),
    stop: (_key, stopped) => stops.stop(stopped.chat.id, stopped.draft_id),
    recover,
    awaitIdle: local.idle,
    outstanding: local.outstanding,
    // What the stop left is in the shared inbox: the runs interrupted here, and the updates of
    // this replica's chats that had not started (queued in their entities, handed over with them).
    leftPending: inbox.pendingCount.pipe(
      Effect.catchAll((e) => Effect.zipRight(Effect.logWarning(`the inbox's pending entries not read: ${e.message}`), local.outstanding))
    ),
    shutdown,
    idempotent: true,
    gatesFloods: true
  })
})

/** The chats' queues on the cluster: a chat an entity, an update a persisted message. */
export const ChatQueueCluster: Layer.Layer<
  ChatQueue,
  StoreError,
  Sharding | SqlClient.SqlClient | PgClient.PgClient | Inbox | UpdateRunner | DispatcherConfig | ClusterConfig
> =
  Layer.scoped(ChatQueue, makeChatQueueCluster)
