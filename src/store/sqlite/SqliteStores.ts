/**
 * The stores on an embedded SQLite database (`SqliteDatabase`): the default for a single
 * machine. One file per store (`ClientStoreSqlite`, `HistoryStoreSqlite`, `InboxSqlite`); the
 * rows and their mapping to records are shared with YDB (`../rows.ts`). Every statement is
 * parameterized; every row read is decoded with Schema.
 */
import { Effect, Layer } from "effect"
import { SqliteConfig } from "../StoreConfig.ts"
import { ClientStoreSqlite } from "./ClientStoreSqlite.ts"
import { HistoryStoreSqlite } from "./HistoryStoreSqlite.ts"
import { InboxSqlite } from "./InboxSqlite.ts"
import { SqliteDatabase, type SqliteOptions } from "./SqliteDatabase.ts"

/** The three stores on one SQLite database. */
export const StoresSqlite = (options: SqliteOptions) =>
  Layer.mergeAll(ClientStoreSqlite, HistoryStoreSqlite, InboxSqlite).pipe(Layer.provide(SqliteDatabase(options)))

/** The three stores on the database `SQLITE_PATH` names. */
export const StoresSqliteLive = Layer.unwrapEffect(Effect.map(SqliteConfig, StoresSqlite))
