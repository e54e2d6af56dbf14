/**
 * This process as one runner of the cluster: `Sharding` over sockets between the replicas,
 * with its shard locks, runner registry and persisted messages in PostgreSQL (the database of
 * `STORE=postgres`, through a pool of its own). Everything is configured from `ClusterConfig`
 * here, never from the cluster library's own environment variables.
 */
import * as RunnerHealth from "@effect/cluster/RunnerHealth"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as Runners from "@effect/cluster/Runners"
import type { Sharding } from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SocketRunner from "@effect/cluster/SocketRunner"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import type { MessageStorage } from "@effect/cluster/MessageStorage"
import { RunnerAddress } from "@effect/cluster/RunnerAddress"
import { layerClientProtocol, layerSocketServer } from "@effect/platform-node/NodeClusterSocket"
import * as RpcSerialization from "@effect/rpc/RpcSerialization"
import { SqlClient, type SqlConnection } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Cause, type ConfigError, Duration, Effect, Fiber, Layer, Option, type Redacted, Schedule } from "effect"
import { ConfigurationError, StoreError } from "../domain/errors.ts"
import { DispatcherConfig } from "../runtime/DispatcherConfig.ts"
import { PostgresConfig, StoreKind } from "../store/StoreConfig.ts"
import { ClusterConfig, type ClusterConfigShape, terminationTimeout } from "./ClusterConfig.ts"

export interface ClusterRunnerOptions {
  readonly config: ClusterConfigShape
  /** `SHUTDOWN_DEADLINE`: how long entity termination waits for the dialogs in flight (unless `CLUSTER_TERMINATION_TIMEOUT`). */
  readonly shutdownDeadline: Duration.Duration
  /** The PostgreSQL database the cluster keeps its state in. */
  readonly url: Redacted.Redacted
  /** Connections of the cluster's own pool. */
  readonly poolSize: number
}

/** The sharding settings of this runner from the bot's cluster settings. */
export const shardingSettings = (options: Pick<ClusterRunnerOptions, "config" | "shutdownDeadline">) => {
  const { config } = options
  return {
    runnerAddress: Option.some(RunnerAddress.make({ host: config.runnerHost, port: config.runnerPort })),
    // Listens on the address it is reached at (not on every interface).
    runnerListenAddress: Option.none(),
    shardsPerGroup: config.shards,
    shardLockRefreshInterval: config.lockRefresh,
    shardLockExpiration: config.lockExpiry,
    runnerHealthCheckInterval: config.healthCheck,
    entityTerminationTimeout: terminationTimeout(config, options.shutdownDeadline),
    entityMessagePollInterval: config.messagePoll,
    // A chat entity lives while its chat talks; an idle one is stopped and restarted on demand.
    entityMaxIdleTime: Duration.minutes(5)
  } satisfies Partial<ShardingConfig.ShardingConfig["Type"]>
}

/** The first line of `cause`, and what the database said when a statement failed (an `SqlError`'s cause). */
const reason = (cause: Cause.Cause<unknown>): string => {
  const first = Cause.pretty(cause).split("\n")[0] ?? "unknown"
  const error = Cause.squash(cause)
  const inner = error instanceof Error && error.cause instanceof Error ? error.cause.message.split("\n")[0] : undefined
  return inner === undefined || first.includes(inner) ? first : `${first}: ${inner}`
}

const failure = (where: string) => (cause: Cause.Cause<unknown>) =>
  new StoreError({
    operation: "cluster",
    message: `the cluster runner did not start (${where}): ${reason(cause)}`,
    retryable: false
  })

/**
 * The start of the cluster's tables, retried: replicas starting together on a fresh database
 * create the same tables at once, and PostgreSQL can refuse one of two concurrent
 * `CREATE TABLE IF NOT EXISTS` of a table (a replica then failed to start). A database that is
 * not there still fails the start, after about two seconds.
 */
const storageStartRetry = Schedule.exponential("100 millis").pipe(Schedule.jittered, Schedule.intersect(Schedule.recurs(5)))

/**
 * `layer`'s start retried by `storageStartRetry`, a defect too: the message storage's migrations
 * die rather than fail (the library runs them through `Effect.orDie`), and a concurrent
 * `CREATE TABLE` of its migrations table is such a defect ("duplicate key value violates unique
 * constraint pg_type_typname_nsp_index"). An interruption is not retried.
 */
export const retriedStart = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, unknown, R> =>
  Layer.retry(
    Layer.catchAllCause(layer, (cause) => Cause.isInterruptedOnly(cause) ? Layer.failCause(cause) : Layer.fail(Cause.squash(cause))),
    storageStartRetry
  )

/**
 * The runner storage with its shard-lock operations one at a time. On PostgreSQL the library
 * runs them all on one reserved connection, and a lock refresh overlapping an acquire or a
 * release issued a query there while another ran: pg 8 prints a deprecation warning for it
 * (pg 9 refuses it). The other operations use the pool and are left as they are.
 */
export const serialLockOperations = Layer.effect(
  RunnerStorage.RunnerStorage,
  Effect.gen(function*() {
    const storage = yield* RunnerStorage.RunnerStorage
    const lock = yield* Effect.makeSemaphore(1)
    const one = lock.withPermits(1)
    return RunnerStorage.RunnerStorage.of({
      ...storage,
      acquire: (address, shardIds) => one(storage.acquire(address, shardIds)),
      refresh: (address, shardIds) => one(storage.refresh(address, shardIds)),
      release: (address, shardId) => one(storage.release(address, shardId)),
      releaseAll: (address) => one(storage.releaseAll(address))
    })
  })
)

/**
 * A connection whose queries run one at a time: each waits for the one before to end. A query
 * whose caller stops waiting (a lock operation past its deadline) keeps the connection's turn
 * until PostgreSQL answers it, in a fiber of the connection's scope, so the next one is not
 * issued while it runs.
 */
const oneQueryAtATime = (conn: SqlConnection.Connection) =>
  Effect.gen(function*() {
    const scope = yield* Effect.scope
    const turn = yield* Effect.makeSemaphore(1)
    const one = <A, E>(query: Effect.Effect<A, E>): Effect.Effect<A, E> =>
      Effect.uninterruptibleMask((restore) =>
        Effect.zipRight(
          restore(turn.take(1)),
          Effect.flatMap(Effect.forkIn(Effect.ensuring(query, turn.release(1)), scope), (running) => restore(Fiber.join(running)))
        )
      )
    return {
      execute: (sql, params, transformRows) => one(conn.execute(sql, params, transformRows)),
      executeRaw: (sql, params) => one(conn.executeRaw(sql, params)),
      executeStream: (sql, params, transformRows) => conn.executeStream(sql, params, transformRows),
      executeValues: (sql, params) => one(conn.executeValues(sql, params)),
      executeUnprepared: (sql, params, transformRows) => one(conn.executeUnprepared(sql, params, transformRows))
    } satisfies SqlConnection.Connection
  })

/**
 * The SQL client of the runner storage, with the connections it reserves running one query at
 * a time. On PostgreSQL the library keeps every shard-lock operation on one reserved connection
 * and gives each a deadline, leaving an operation past it running: with its backend stalled for
 * a few seconds the next operations were issued behind it, and pg 8 printed its deprecation
 * warning for a query issued while another ran (pg 9 refuses it). The pool's own queries are
 * one per connection already.
 */
export const serialReservedConnections = Layer.effect(
  SqlClient.SqlClient,
  Effect.map(SqlClient.SqlClient, (sql) => {
    const reserve = Effect.flatMap(sql.reserve, oneQueryAtATime)
    return new Proxy(sql, {
      get: (target, key, receiver): unknown => (key === "reserve" ? reserve : Reflect.get(target, key, receiver))
    })
  })
)

/**
 * The runner: `Sharding` (and the `MessageStorage` it persists messages in) on the database
 * of `options.url`, and the client of its pool (`PgClient`: the stops' channel listens on it). Fails with a StoreError when the database or the runner port cannot be used.
 */
export const ClusterRunner = (
  options: ClusterRunnerOptions
): Layer.Layer<Sharding | MessageStorage | SqlClient.SqlClient | PgClient.PgClient, StoreError> => {
  const sql = PgClient.layer({
    url: options.url,
    maxConnections: options.poolSize,
    applicationName: "dialog-bot-cluster"
  })
  const health = RunnerHealth.layerPing.pipe(Layer.provide(Runners.layerRpc), Layer.provide(layerClientProtocol))
  return SocketRunner.layer.pipe(
    Layer.provide([layerSocketServer, layerClientProtocol, health]),
    Layer.provideMerge(retriedStart(SqlMessageStorage.layer)),
    Layer.provide(
      serialLockOperations.pipe(
        Layer.provide(Layer.orDie(retriedStart(SqlRunnerStorage.layer))),
        Layer.provide(serialReservedConnections)
      )
    ),
    Layer.provide(ShardingConfig.layer(shardingSettings(options))),
    Layer.provide(RpcSerialization.layerMsgPack),
    Layer.provideMerge(sql),
    Layer.catchAllCause((cause) => Layer.fail(failure(`runner port ${options.config.runnerPort}, PostgreSQL`)(cause)))
  )
}

/** `CLUSTER=true` needs `STORE=postgres`: the cluster's storage is the SQL database the replicas share. */
export const clusterNeedsPostgres = new ConfigurationError({
  source: "CLUSTER",
  message: "CLUSTER=true needs STORE=postgres (and DATABASE_URL): the replicas share their chats through PostgreSQL"
})

/** The runner configured from the environment: `ClusterConfig`, `DATABASE_URL`, `SHUTDOWN_DEADLINE`. */
export const ClusterRunnerLive: Layer.Layer<
  Sharding | MessageStorage | SqlClient.SqlClient | PgClient.PgClient,
  StoreError | ConfigurationError | ConfigError.ConfigError
> = Layer.unwrapEffect(Effect.gen(function*() {
  const store = yield* StoreKind
  if (store !== "postgres") return yield* Effect.fail(clusterNeedsPostgres)
  const config = yield* ClusterConfig.config
  const postgres = yield* PostgresConfig
  const dispatcher = yield* DispatcherConfig.config
  return ClusterRunner({ config, shutdownDeadline: dispatcher.shutdownDeadline, url: postgres.url, poolSize: postgres.poolSize })
}))
