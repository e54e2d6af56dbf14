/**
 * The stores on PostgreSQL (`PostgresDatabase`): the store of several replicas, whose database
 * the cluster shares. One file per store (`ClientStorePostgres`, `HistoryStorePostgres`,
 * `InboxPostgres`); the rows and their mapping to records are shared with SQLite and YDB
 * (`../rows.ts`). Every statement is parameterized; every row read is decoded with Schema.
 */
import { type Duration, Effect, Layer, Redacted } from "effect"
import { singleInstance } from "../InstanceLease.ts"
import { PostgresConfig, SingleInstanceConfig } from "../StoreConfig.ts"
import { UsageLedgerSql } from "../../usage/UsageLedgerSql.ts"
import { ClientStorePostgres } from "./ClientStorePostgres.ts"
import { ConversationStatePostgres } from "./ConversationStatePostgres.ts"
import { HistoryStorePostgres } from "./HistoryStorePostgres.ts"
import { InboxPostgres } from "./InboxPostgres.ts"
import { InstanceLeasePostgres } from "./InstanceLeasePostgres.ts"
import { PostgresDatabase, type PostgresOptions, postgresWhere } from "./PostgresDatabase.ts"

/** The three stores on the `PostgresConnection` of the context. */
export const StoresOnPostgres = Layer.mergeAll(ClientStorePostgres, HistoryStorePostgres, InboxPostgres, ConversationStatePostgres, UsageLedgerSql)

/** The three stores on the PostgreSQL database at `options.url`. */
export const StoresPostgres = (options: PostgresOptions) => StoresOnPostgres.pipe(Layer.provide(PostgresDatabase(options)))

/**
 * The three stores on a PostgreSQL database that this process holds alone while the layer
 * lives (the single-instance lease, `../InstanceLease.ts`): the layer fails with a StoreError
 * if another process holds it.
 */
export const StoresPostgresExclusive = (options: PostgresOptions, leaseTtl: Duration.DurationInput) =>
  Layer.mergeAll(
    StoresOnPostgres,
    singleInstance({ store: `PostgreSQL database ${postgresWhere(Redacted.value(options.url))}`, ttl: leaseTtl }).pipe(
      Layer.provide(InstanceLeasePostgres)
    )
  ).pipe(Layer.provide(PostgresDatabase(options)))

/** The three stores on the database `DATABASE_URL` names, held alone unless `CLUSTER=true`. */
export const StoresPostgresLive = Layer.unwrapEffect(
  Effect.map(Effect.all([PostgresConfig, SingleInstanceConfig]), ([config, single]) =>
    single.cluster ? StoresPostgres(config) : StoresPostgresExclusive(config, single.leaseTtl))
)
