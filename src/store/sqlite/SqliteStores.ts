/**
 * The stores on an embedded SQLite database (`SqliteDatabase`): the default for a single
 * machine. The stores themselves are the SQL stores (`../sql/SqlStores.ts`), shared with
 * PostgreSQL; this folder holds the connection (a worker thread by default), the migrations and
 * the dialect. Every statement is parameterized; every row read is decoded with Schema.
 */
import { type Duration, Effect, Layer } from "effect"
import { singleInstance } from "../InstanceLease.ts"
import { InstanceLeaseSql } from "../sql/InstanceLeaseSql.ts"
import { StoresOnSql } from "../sql/SqlStores.ts"
import { SharedStore, SingleInstanceConfig, SqliteConfig } from "../StoreConfig.ts"
import { SqliteDatabase, type SqliteOptions } from "./SqliteDatabase.ts"

/** The four stores on one SQLite database. */
export const StoresSqlite = (options: SqliteOptions) => StoresOnSql.pipe(Layer.provide(SqliteDatabase(options)))

/**
 * The four stores on one SQLite file that this process holds alone while the layer lives (the
 * single-instance lease, `../InstanceLease.ts`): the layer fails with a StoreError if another
 * process holds it.
 */
export const StoresSqliteExclusive = (options: SqliteOptions, leaseTtl: Duration.DurationInput) =>
  Layer.mergeAll(
    StoresOnSql,
    singleInstance({ store: `SQLite database ${options.path}`, ttl: leaseTtl }).pipe(Layer.provide(InstanceLeaseSql))
  ).pipe(Layer.provide(SqliteDatabase(options)))

const isMemory = (path: string) => path === ":memory:" || path === ""

/**
 * The four stores on the database `SQLITE_PATH` names, held alone unless `CLUSTER=true` (a
 * database in memory is private to the process anyway).
 */
export const StoresSqliteLive = Layer.unwrapEffect(
  Effect.map(Effect.all([SqliteConfig, SingleInstanceConfig, SharedStore]), ([config, single, shared]) =>
    shared || isMemory(config.path) ? StoresSqlite(config) : StoresSqliteExclusive(config, single.leaseTtl))
)
