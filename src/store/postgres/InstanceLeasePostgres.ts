/**
 * The single-instance lease on PostgreSQL (`../InstanceLeaseSql.ts`). Processes that share a
 * database may run on several machines, so the lease runs on the server's clock.
 */
import { Effect, Layer, Schema } from "effect"
import { InstanceLease } from "../InstanceLease.ts"
import { makeInstanceLeaseSql } from "../InstanceLeaseSql.ts"
import { PostgresConnection } from "./PostgresDatabase.ts"

const decodeNow = Schema.decodeUnknown(Schema.Tuple(Schema.Struct({ now: Schema.BigIntFromSelf })))

/** The lease on the `PostgresConnection` of the context (see `PostgresDatabase`). */
export const InstanceLeasePostgres = Layer.effect(
  InstanceLease,
  Effect.gen(function*() {
    const { call, sql } = yield* PostgresConnection
    const now = Effect.flatMap(
      sql`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
      (rows) => Effect.map(Effect.orDie(decodeNow(rows)), ([row]) => Number(row.now))
    )
    return yield* makeInstanceLeaseSql({ now, call })
  })
)
