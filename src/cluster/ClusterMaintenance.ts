/**
 * The cluster's housekeeping, run every minute by one replica (a cluster cron job):
 *
 * - processed cluster messages (and their replies) older than `CLUSTER_RETENTION` are
 *   deleted: the cluster keeps them otherwise for ever. Unprocessed ones are never deleted.
 * - pending inbox entries are sent to the cluster again (`ChatQueue.recover`): an update whose
 *   message was not stored when it came (the webhook answered 5xx, and Telegram's redelivery
 *   found it in the inbox already) runs within the minute. An update whose message is stored
 *   is not stored or run again.
 */
import * as ClusterCron from "@effect/cluster/ClusterCron"
import * as MachineId from "@effect/cluster/MachineId"
import type { Sharding } from "@effect/cluster/Sharding"
import * as Snowflake from "@effect/cluster/Snowflake"
import { SqlClient } from "@effect/sql"
import { Clock, Cron, Duration, Effect, type Layer } from "effect"
import { StoreError } from "../domain/errors.ts"
import type { Inbox } from "../store/Inbox.ts"
import { ChatQueue } from "../runtime/ChatQueue.ts"
import { ClusterConfig } from "./ClusterConfig.ts"

/** The smallest message id the cluster gives at `timestamp` (ids are snowflakes: time first). */
export const firstIdAt = (timestamp: number): bigint =>
  Snowflake.make({ timestamp: Math.max(timestamp, Snowflake.constEpochMillis), machineId: MachineId.make(0), sequence: 0 })

/** Deletes the processed messages stored before `before` (epoch millis) and their replies; returns how many messages. */
export const pruneMessages = (before: number) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const bound = String(firstIdAt(before))
    return yield* sql.withTransaction(Effect.gen(function*() {
      yield* sql`DELETE FROM cluster_replies WHERE request_id IN (SELECT id FROM cluster_messages WHERE processed AND id < ${bound})`
      const deleted = yield* sql<{ readonly id: string }>`DELETE FROM cluster_messages WHERE processed AND id < ${bound} RETURNING id`
      return deleted.length
    }))
  }).pipe(
    Effect.mapError((e) => new StoreError({ operation: "cluster_prune", message: e.message, retryable: true })),
    Effect.withSpan("cluster.prune")
  )

/** One run of the housekeeping. */
export const maintain = Effect.gen(function*() {
  const config = yield* ClusterConfig
  const queue = yield* ChatQueue
  const now = yield* Clock.currentTimeMillis
  const pruned = yield* pruneMessages(now - Duration.toMillis(config.retention))
  if (pruned > 0) yield* Effect.logInfo(`pruned ${pruned} processed cluster messages`)
  yield* queue.recover
})

/** The housekeeping as a cluster cron job: every minute, on one replica. */
export const ClusterMaintenance: Layer.Layer<
  never,
  never,
  Sharding | SqlClient.SqlClient | ClusterConfig | ChatQueue | Inbox
> =
  ClusterCron.make({
    name: "dialog-bot/maintenance",
    cron: Cron.unsafeParse("* * * * *"),
    execute: maintain.pipe(
      Effect.catchAll((e) => Effect.logWarning(`cluster housekeeping failed, it runs again in a minute: ${e.message}`))
    ),
    skipIfOlderThan: "5 minutes"
  })
