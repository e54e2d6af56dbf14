/**
 * The single-instance lease on an SQL store (SQLite, PostgreSQL): table `instance_lease`, one
 * row named `bot`. Each change is one statement that checks and writes at once (an upsert with
 * a condition, an update keyed by the holder), so two processes starting together cannot both
 * take it. The stores give the time (`now`: the process clock for a file on one machine, the
 * server's clock for a database several machines share) and how a statement runs.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Duration, Effect, Option, Schema } from "effect"
import { StoreError } from "../domain/errors.ts"
import { InstanceLease, type LeaseHolder } from "./InstanceLease.ts"
import { plainRows } from "./rows.ts"

const table = "instance_lease"
const name = "bot"

export interface SqlLeaseOptions {
  /** The current time in epoch milliseconds, as the store sees it. */
  readonly now: Effect.Effect<number, SqlError.SqlError>
  /** Runs the statements of one lease operation; the store's failures become StoreErrors. */
  readonly call: <A>(operation: string, table: string, effect: Effect.Effect<A, SqlError.SqlError | StoreError>) => Effect.Effect<A, StoreError>
}

const HolderRow = Schema.Struct({ holder: Schema.String, expires_at: Schema.Number })
const decodeHolders = Schema.decodeUnknown(Schema.Array(HolderRow))

const holders = (operation: string) => (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<LeaseHolder>, StoreError> =>
  decodeHolders(plainRows(rows)).pipe(
    Effect.map((decoded) => decoded.map((row) => ({ holder: row.holder, expiresAt: row.expires_at }))),
    Effect.mapError(() => new StoreError({ operation, message: `a row of ${table} does not match its schema` }))
  )

/** The lease on the `SqlClient` of the context. */
export const makeInstanceLeaseSql = (options: SqlLeaseOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { call, now } = options
    const until = (ttl: Duration.Duration) => Effect.map(now, (t) => ({ now: t, expiresAt: t + Duration.toMillis(ttl) }))
    return InstanceLease.of({
      acquire: (holder, ttl) =>
        call(
          "acquire",
          table,
          Effect.gen(function*() {
            const { expiresAt, now } = yield* until(ttl)
            const won = yield* sql`
              INSERT INTO instance_lease (name, holder, expires_at, acquired_at)
              VALUES (${name}, ${holder}, ${expiresAt}, ${now})
              ON CONFLICT (name) DO UPDATE
                SET holder = excluded.holder, expires_at = excluded.expires_at, acquired_at = excluded.acquired_at
                WHERE instance_lease.expires_at <= ${now} OR instance_lease.holder = excluded.holder
              RETURNING holder`
            if (won.length === 1) return Option.none()
            const current = yield* Effect.flatMap(
              sql`SELECT holder, expires_at FROM instance_lease WHERE name = ${name}`,
              holders("acquire")
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
            sql`
              UPDATE instance_lease SET holder = ${holder}, expires_at = ${expiresAt}, acquired_at = ${now}
              WHERE name = ${name} AND holder = ${previous}
              RETURNING holder`)
        ).pipe(Effect.map((rows) => rows.length === 1)),
      renew: (holder, ttl) =>
        call(
          "renew",
          table,
          Effect.flatMap(until(ttl), ({ expiresAt }) =>
            sql`
              UPDATE instance_lease SET expires_at = ${expiresAt}
              WHERE name = ${name} AND holder = ${holder}
              RETURNING holder`)
        ).pipe(Effect.map((rows) => rows.length === 1)),
      release: (holder) =>
        call("release", table, sql`DELETE FROM instance_lease WHERE name = ${name} AND holder = ${holder}`).pipe(Effect.asVoid)
    })
  })
