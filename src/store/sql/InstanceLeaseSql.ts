/**
 * The single-instance lease on an SQL database (`SqlStores.ts`): table `instance_lease`, one
 * row named `bot`. Each change is one statement that checks and writes at once (an upsert with
 * a condition, an update keyed by the holder), so two processes starting together cannot both
 * take it. The time is the dialect's (`now`): the process clock for an SQLite file on one
 * machine, the server's clock for a PostgreSQL database several machines share.
 */
import { SqlClient } from "@effect/sql"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { InstanceLease, type LeaseHolder } from "../InstanceLease.ts"
import { SqlDialect } from "./SqlDialect.ts"

const table = "instance_lease"
const name = "bot"

const HolderRow = Schema.Struct({ holder: Schema.String, expires_at: Schema.Number })
const decodeHolders = Schema.decodeUnknown(Schema.Array(HolderRow))

const holders = (operation: string) => (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<LeaseHolder>, StoreError> =>
  decodeHolders(rows).pipe(
    Effect.map((decoded) => decoded.map((row) => ({ holder: row.holder, expiresAt: row.expires_at }))),
    Effect.mapError(() => new StoreError({ operation, message: `a row of ${table} does not match its schema` }))
  )

export const makeInstanceLeaseSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { call, now, rows, run } = yield* SqlDialect
  const until = (ttl: Duration.Duration) => Effect.map(now, (t) => ({ now: t, expiresAt: t + Duration.toMillis(ttl) }))
  return InstanceLease.of({
    acquire: (holder, ttl) =>
      call(
        "acquire",
        table,
        Effect.gen(function*() {
          const { expiresAt, now } = yield* until(ttl)
          const won = yield* run(sql`
            INSERT INTO instance_lease (name, holder, expires_at, acquired_at)
            VALUES (${name}, ${holder}, ${expiresAt}, ${now})
            ON CONFLICT (name) DO UPDATE
              SET holder = excluded.holder, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
              WHERE instance_lease.expires_at <= ${now} OR instance_lease.holder = excluded.holder
            RETURNING holder`)
          if (won.length === 1) return Option.none()
          const current = yield* Effect.flatMap(
            run(sql`SELECT holder, expires_at FROM instance_lease WHERE name = ${name}`),
            (result) => holders("acquire")(rows(result))
          )
          // Released between the two statements: free again, so try once more next start.
          return Option.some(current[0] ?? { holder: "(released just now)", expiresAt: now })
        })
      ),
    takeOver: (previous, holder, ttl) =>
      call(
        "takeOver",
        table,
        Effect.flatMap(until(ttl), ({ expiresAt, now }) =>
          run(sql`
            UPDATE instance_lease SET holder = ${holder}, expires_at = ${expiresAt}, acquired_at = ${now}
            WHERE name = ${name} AND holder = ${previous}
            RETURNING holder`))
      ).pipe(Effect.map((result) => result.length === 1)),
    renew: (holder, ttl) =>
      call(
        "renew",
        table,
        Effect.flatMap(until(ttl), ({ expiresAt }) =>
          run(sql`
            UPDATE instance_lease SET expires_at = ${expiresAt}
            WHERE name = ${name} AND holder = ${holder}
            RETURNING holder`))
      ).pipe(Effect.map((result) => result.length === 1)),
    release: (holder) =>
      call("release", table, run(sql`DELETE FROM instance_lease WHERE name = ${name} AND holder = ${holder}`)).pipe(Effect.asVoid)
  })
})

/** The lease on the `SqlClient` and `SqlDialect` of the context. */
export const InstanceLeaseSql = Layer.effect(InstanceLease, makeInstanceLeaseSql)
