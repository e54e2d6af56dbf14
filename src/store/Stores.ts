/**
 * The four stores (`Stores`: clients, history, the inbox, conversation state), the ones the
 * configuration names (`STORE`), and the schema migration for them. Entry points use these so
 * that a setting means the same everywhere.
 *
 * The store layers follow one naming scheme, the same for every database:
 *
 * - `Stores<Db>(options)`: the four stores on a database opened from `options` (`StoresSqlite`,
 *   `StoresPostgres`, `StoresYdb`; `StoresMemory` takes none).
 * - `Stores<Db>Exclusive(options, ttl)`: the same, held by this process alone while the layer
 *   lives (the single-instance lease; SQLite and PostgreSQL).
 * - `Stores<Db>Live`: the database the environment names (`StoresSqliteLive`, …), exclusive
 *   unless `CLUSTER=true`; `StoresLive` picks one of them by `STORE`.
 * - `StoresOn<Client>`: the four stores on a client of the context, for a layer that opens the
 *   database itself: `StoresOnSql` (an `SqlClient` and its `SqlDialect`: SQLite or PostgreSQL,
 *   `./sql/SqlStores.ts`) and `StoresOnYdb` (a `YdbClient`).
 */
import { describeApplied, withMigrationReport } from "./MigrationReport.ts"
import { type ConfigError, ConfigProvider, Effect, Layer, Redacted } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { ClientStore } from "./ClientStore.ts"
import type { ConversationState } from "./ConversationState.ts"
import type { FeedbackStore } from "./FeedbackStore.ts"
import type { HistoryStore } from "./HistoryStore.ts"
import type { Inbox } from "./Inbox.ts"
import type { UsageLedger } from "../usage/UsageLedger.ts"
import { StoresMemory } from "./memory/MemoryStores.ts"
import { lazyLayer } from "../effect/lazyLayer.ts"
import type { PostgresOptions } from "./postgres/PostgresDatabase.ts"
import { SqliteDatabase } from "./sqlite/SqliteDatabase.ts"
import { StoresSqliteLive } from "./sqlite/SqliteStores.ts"
import { PostgresConfig, SqliteConfig, StoreKind, YdbConfig } from "./StoreConfig.ts"
import type { YdbConnectionOptions } from "./ydb/YdbClient.ts"
import type { YdbTables } from "./ydb/schema.ts"

/** The stores every store layer provides: the four of the dialog, the usage ledger and feedback on answers. */
export type Stores = ClientStore | HistoryStore | Inbox | ConversationState | UsageLedger | FeedbackStore

// PostgreSQL (pg, @effect/sql-pg) and YDB (@ydbjs/*) are imported when their layer is built:
// the embedded default and the demo never load them.
const postgresStores = () => import("./postgres/PostgresStores.ts")
const ydbStores = () => import("./ydb/YdbStores.ts")

/** `StoresPostgres` of ./postgres/PostgresStores.ts, its module imported when the layer is built. */
export const StoresPostgres = (options: PostgresOptions) => lazyLayer(() => postgresStores().then((m) => m.StoresPostgres(options)))
/** `StoresPostgresLive` of ./postgres/PostgresStores.ts, its module imported when the layer is built. */
export const StoresPostgresLive = lazyLayer(() => postgresStores().then((m) => m.StoresPostgresLive))
/** `StoresYdb` of ./ydb/YdbStores.ts, its module imported when the layer is built. */
export const StoresYdb = (options: YdbConnectionOptions, tables?: YdbTables) =>
  lazyLayer(() => ydbStores().then((m) => m.StoresYdb(options, tables)))
/** `StoresYdbLive` of ./ydb/YdbStores.ts, its module imported when the layer is built. */
export const StoresYdbLive = lazyLayer(() => ydbStores().then((m) => m.StoresYdbLive))

/**
 * Memory, SQLite (`SQLITE_PATH`), PostgreSQL (`DATABASE_URL`) or YDB (`YDB_CONNECTION_STRING`),
 * by `STORE`. SQLite and PostgreSQL are migrated at start.
 */
export const StoresLive: Layer.Layer<Stores, StoreError | ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.map(StoreKind, (kind): Layer.Layer<Stores, StoreError | ConfigError.ConfigError> => {
    switch (kind) {
      case "memory":
        return StoresMemory
      case "sqlite":
        return StoresSqliteLive
      case "postgres":
        return StoresPostgresLive
      case "ydb":
        return StoresYdbLive
    }
  })
)

/**
 * Brings the schema of the configured store up to date: SQLite and PostgreSQL apply their migrations, YDB
 * creates its tables and sets the inbox TTL. Returns a line that says what was done.
 */
export const migrateConfigured: Effect.Effect<string, StoreError | ConfigError.ConfigError> = Effect.gen(function*() {
  const kind = yield* StoreKind
  switch (kind) {
    case "memory":
      return "STORE=memory keeps nothing: there is no schema to migrate."
    case "sqlite": {
      const config = yield* SqliteConfig
      // Opening the database applies every pending migration.
      const [, applied] = yield* withMigrationReport(Effect.scoped(Layer.build(SqliteDatabase(config))))
      return `SQLite database ${config.path}: ${describeApplied(applied)}; up to date.`
    }
    case "postgres": {
      const config = yield* PostgresConfig
      const { PostgresDatabase, postgresWhere } = yield* Effect.promise(() => import("./postgres/PostgresDatabase.ts"))
      // Opening the database applies every pending migration.
      const [, applied] = yield* withMigrationReport(Effect.scoped(Layer.build(PostgresDatabase(config))))
      return `PostgreSQL database ${postgresWhere(Redacted.value(config.url))}: ${describeApplied(applied)}; up to date.`
    }
    case "ydb": {
      const config = yield* YdbConfig
      const [{ YdbClientDriver }, { migrateYdb, ydbTables }] = yield* Effect.promise(() =>
        Promise.all([import("./ydb/YdbClient.ts"), import("./ydb/schema.ts")])
      )
      const tables = ydbTables(config.tablePrefix)
      const count = yield* migrateYdb(tables, config.inboxTtl).pipe(Effect.provide(YdbClientDriver(config)))
      return `YDB: ${count} schema statements applied (tables ${tables.clients}, ${tables.messages}, ${tables.inbox}).`
    }
  }
})


/**
 * Runs an effect with the demo's stores: an SQLite database in memory whatever `STORE` and
 * `SQLITE_PATH` say, so every demo run starts empty and prints the whole transcript. It runs on
 * the main thread: the demo's replay is the only work of its process, with no webhook or
 * poller whose event loop a statement could hold up, and starting the worker thread cost it
 * about a tenth of its time (bench/README.md).
 */
export const withDemoStores = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withConfigProvider(
    effect,
    ConfigProvider.fromMap(new Map([["STORE", "sqlite"], ["SQLITE_PATH", ":memory:"], ["SQLITE_WORKER", "false"]])).pipe(
      ConfigProvider.orElse(() => ConfigProvider.fromEnv())
    )
  )
