/**
 * Settings of cluster mode (`CLUSTER=true`): where this replica is reached by the others, and
 * the timings of the cluster's shard locks, health checks and entity termination. The defaults
 * suit a busy two-core machine: locks refreshed every 3 s and expiring after 15 s (shorter
 * intervals make a loaded replica look dead and its chats move for nothing), so a replica
 * that dies has its chats taken over within seconds.
 */
import { Config, Duration, Option } from "effect"
import { duration, integerIn, positiveInt, Settings } from "../config.ts"

export const ClusterConfigSchema = Config.all({
  /**
   * `CLUSTER=true`: this process is one replica of several (the chats' queues on the cluster,
   * the store shared, no single-instance lease).
   */
  enabled: Config.boolean("CLUSTER").pipe(Config.withDefault(false)),
  /** The address the other replicas reach this one at. */
  runnerHost: Config.string("RUNNER_HOST").pipe(Config.withDefault("127.0.0.1")),
  /** The port this replica listens on for the other replicas. */
  runnerPort: integerIn("RUNNER_PORT", 34431, 1, 65535),
  /** Shards the chats are spread over; the same number on every replica. */
  shards: positiveInt("CLUSTER_SHARDS", 64),
  /** How often a replica renews the locks of its shards. */
  lockRefresh: duration("CLUSTER_LOCK_REFRESH", "3 seconds"),
  /** How long a shard lock lasts unrenewed: a dead replica's chats move after this. */
  lockExpiry: duration("CLUSTER_LOCK_EXPIRY", "15 seconds"),
  /** How often the replicas check that the others answer. */
  healthCheck: duration("CLUSTER_HEALTH_CHECK", "2 seconds"),
  /**
   * How long a stopping replica (or one whose shards move) waits for its chats' dialogs in
   * flight before interrupting them (their updates then run on another replica). Unset:
   * `SHUTDOWN_DEADLINE`, so that a replica stops within it plus the hand-off of its shards,
   * well inside the 30 s a service manager gives it.
   */
  terminationTimeout: Config.option(Config.duration("CLUSTER_TERMINATION_TIMEOUT")),
  /** How often a replica looks in the database for messages it was not told about. */
  messagePoll: duration("CLUSTER_MESSAGE_POLL", "5 seconds"),
  /** Processed cluster messages older than this are deleted (by a cluster cron job, every minute). */
  retention: duration("CLUSTER_RETENTION", "24 hours")
})
export type ClusterConfigShape = Config.Config.Success<typeof ClusterConfigSchema>

export class ClusterConfig extends Settings<ClusterConfig>()("dialog-bot/ClusterConfig", ClusterConfigSchema) {}

/** How long entity termination waits: the setting, or `shutdownDeadline` (`SHUTDOWN_DEADLINE`). */
export const terminationTimeout = (config: ClusterConfigShape, shutdownDeadline: Duration.Duration): Duration.Duration =>
  Option.getOrElse(config.terminationTimeout, () => shutdownDeadline)

/** The name of the polling singleton: one `getUpdates` loop across the replicas. */
export const pollerSingleton = "dialog-bot/telegram-poller"
