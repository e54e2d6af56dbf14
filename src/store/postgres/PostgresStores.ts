/**
 * The stores on PostgreSQL (`PostgresDatabase`): the store of several replicas, whose database
 * the cluster shares. The stores themselves are the SQL stores (`../sql/SqlStores.ts`), shared
 * with SQLite; this folder holds the connection, the migrations and the dialect. Every statement
 * is parameterized; every row read is decoded with Schema.
 */
import { type Duration, Effect, Layer, Redacted } from "effect"
import { singleInstance } from "../InstanceLease.ts"
import { InstanceLeaseSql } from "../sql/InstanceLeaseSql.ts"
import { StoresOnSql } from "../sql/SqlStores.ts"
import { PostgresConfig, SharedStore, SingleInstanceConfig } from "../StoreConfig.ts"
import { PostgresDatabase, type PostgresOptions, postgresWhere } from "./PostgresDatabase.ts"

/** The four stores on the PostgreSQL database at `options.url`. */
export const StoresPostgres = (options: PostgresOptions) => StoresOnSql.pipe(Layer.provide(PostgresDatabase(options)))

/**
 * The four stores on a PostgreSQL database that this process holds alone while the layer
 * lives (the single-instance lease, `../InstanceLease.ts`): the layer fails with a StoreError
 * if another process holds it.
 */
export const StoresPostgresExclusive = (options: PostgresOptions, leaseTtl: Duration.DurationInput) =>
  Layer.mergeAll(
    StoresOnSql,
    singleInstance({ store: `PostgreSQL database ${postgresWhere(Redacted.value(options.url))}`, ttl: leaseTtl }).pipe(
      Layer.provide(InstanceLeaseSql)
    )
  ).pipe(Layer.provide(PostgresDatabase(options)))

/** The four stores on the database `DATABASE_URL` names, held alone unless `CLUSTER=true`. */
export const StoresPostgresLive = Layer.unwrapEffect(
  Effect.map(Effect.all([PostgresConfig, SingleInstanceConfig, SharedStore]), ([config, single, shared]) =>
    shared ? StoresPostgres(config) : StoresPostgresExclusive(config, single.leaseTtl))
)
