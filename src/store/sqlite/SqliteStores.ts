/**
 * The stores on an embedded SQLite database (`SqliteDatabase`): the default for a single
 * machine. One file per store (`ClientStoreSqlite`, `HistoryStoreSqlite`, `InboxSqlite`); the
 * rows and their mapping to records are shared with YDB (`../rows.ts`). Every statement is
 * parameterized; every row read is decoded with Schema.
 */
import { type Duration, Effect, Layer } from "effect"
import { singleInstance } from "../InstanceLease.ts"
import { SingleInstanceConfig, SqliteConfig } from "../StoreConfig.ts"
import { UsageLedgerSql } from "../../usage/UsageLedgerSql.ts"
import { ClientStoreSqlite } from "./ClientStoreSqlite.ts"
import { ConversationStateSqlite } from "./ConversationStateSqlite.ts"
import { HistoryStoreSqlite } from "./HistoryStoreSqlite.ts"
import { InboxSqlite } from "./InboxSqlite.ts"
import { InstanceLeaseSqlite } from "./InstanceLeaseSqlite.ts"
import { SqliteDatabase, type SqliteOptions } from "./SqliteDatabase.ts"

/** The three stores on one SQLite database. */
export const StoresSqlite = (options: SqliteOptions) =>
  Layer.mergeAll(ClientStoreSqlite, HistoryStoreSqlite, InboxSqlite, ConversationStateSqlite, UsageLedgerSql).pipe(
    Layer.provide(SqliteDatabase(options))
  )

/**
 * The three stores on one SQLite file that this process holds alone while the layer lives (the
 * single-instance lease, `../InstanceLease.ts`): the layer fails with a StoreError if another
 * process holds it.
 */
export const StoresSqliteExclusive = (options: SqliteOptions, leaseTtl: Duration.DurationInput) =>
  Layer.mergeAll(
    ClientStoreSqlite,
    HistoryStoreSqlite,
    InboxSqlite,
    ConversationStateSqlite,
    UsageLedgerSql,
    singleInstance({ store: `SQLite database ${options.path}`, ttl: leaseTtl }).pipe(Layer.provide(InstanceLeaseSqlite))
  ).pipe(Layer.provide(SqliteDatabase(options)))

const isMemory = (path: string) => path === ":memory:" || path === ""

/**
 * The three stores on the database `SQLITE_PATH` names, held alone unless `CLUSTER=true` (a
 * database in memory is private to the process anyway).
 */
export const StoresSqliteLive = Layer.unwrapEffect(
  Effect.map(Effect.all([SqliteConfig, SingleInstanceConfig]), ([config, single]) =>
    single.cluster || isMemory(config.path) ? StoresSqlite(config) : StoresSqliteExclusive(config, single.leaseTtl))
)
