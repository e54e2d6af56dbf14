/**
 * The stores on PostgreSQL (`PostgresDatabase`): the store of several replicas, whose database
 * the cluster shares. One file per store (`ClientStorePostgres`, `HistoryStorePostgres`,
 * `InboxPostgres`); the rows and their mapping to records are shared with SQLite and YDB
 * (`../rows.ts`). Every statement is parameterized; every row read is decoded with Schema.
 */
import { Effect, Layer } from "effect"
import { PostgresConfig } from "../StoreConfig.ts"
import { ClientStorePostgres } from "./ClientStorePostgres.ts"
import { HistoryStorePostgres } from "./HistoryStorePostgres.ts"
import { InboxPostgres } from "./InboxPostgres.ts"
import { PostgresDatabase, type PostgresOptions } from "./PostgresDatabase.ts"

/** The three stores on the `PostgresConnection` of the context. */
export const StoresOnPostgres = Layer.mergeAll(ClientStorePostgres, HistoryStorePostgres, InboxPostgres)

/** The three stores on the PostgreSQL database at `options.url`. */
export const StoresPostgres = (options: PostgresOptions) => StoresOnPostgres.pipe(Layer.provide(PostgresDatabase(options)))

/** The three stores on the database `DATABASE_URL` names. */
export const StoresPostgresLive = Layer.unwrapEffect(Effect.map(PostgresConfig, StoresPostgres))
