/**
 * The SQL stores' dialect on PostgreSQL (`../sql/SqlDialect.ts`).
 *
 * Free text (names, messages, payloads) is kept as UTF-8 bytes (`bytea`): PostgreSQL's `text`
 * cannot hold a NUL character, which Telegram text may contain. `text` turns a string into a
 * parameter, `rows` turns bytes back into strings and every other value into the plain form of
 * the shared rows (`../rows.ts`). Flags are `boolean`, `LIMIT NULL` means no limit, and text
 * sorts by its bytes with `COLLATE "C"` (the database's own collation may be any).
 *
 * A failure of PostgreSQL is a StoreError of the store operation, retryable when a retry may
 * succeed (a lost connection, a serialization failure, a server starting or shutting down); an
 * operation past its deadline is a retryable StoreError. Processes that share a database may
 * run on several machines, so the lease runs on the server's clock.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { Duration, Effect, Schema } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { plainValue, rowsOf } from "../rows.ts"
import { causeMessage, type SqlDialectService, storeCall } from "../sql/SqlDialect.ts"

const field = (cause: unknown, name: string): string | undefined => {
  if (typeof cause !== "object" || cause === null || !(name in cause)) return undefined
  const value: unknown = Reflect.get(cause, name)
  return typeof value === "string" ? value : undefined
}

/** Node's codes of a connection that failed or broke. */
const networkCodes = new Set(["ECONNREFUSED", "ECONNRESET", "ETIMEDOUT", "EPIPE", "EHOSTUNREACH", "ENETUNREACH", "EAI_AGAIN"])

/**
 * Whether an error code (PostgreSQL's SQLSTATE or Node's) says a retry may succeed: connection
 * exceptions (class 08), serialization failures and deadlocks, insufficient resources (53), a
 * server shutting down or starting (57P01–57P03), a lock not available, a broken socket.
 */
export const retryableCode = (code: string | undefined): boolean =>
  code !== undefined &&
  (code.startsWith("08") || code.startsWith("53") || code === "40001" || code === "40P01" || code === "55P03" ||
    code === "57P01" || code === "57P02" || code === "57P03" || networkCodes.has(code))

/** pg's own messages of a connection that is gone or could not be had in time (they carry no code). */
const connectionLost = /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error/i

/**
 * A PostgreSQL failure as a StoreError. Only PostgreSQL's message and code are kept, never its
 * detail (which may repeat a row's values).
 */
export const fromSqlError = (operation: string) => (error: SqlError.SqlError): StoreError => {
  const code = field(error.cause, "code")
  const reason = causeMessage(error.cause)
  return new StoreError({
    operation,
    message: `${error.message}: ${reason}${code === undefined ? "" : ` (${code})`}`,
    retryable: retryableCode(code) || connectionLost.test(reason)
  })
}

/** A column value in the plain form of the shared rows; `bytea` is UTF-8 text. */
const pgValue = (value: unknown): unknown => (value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : plainValue(value))

/** Rows of pg in the plain form the shared row schemas decode. */
const pgRows = rowsOf(pgValue)

const call = storeCall("postgresql", fromSqlError)

const decodeNow = Schema.decodeUnknown(Schema.Tuple(Schema.Struct({ now: Schema.BigIntFromSelf })))

/** The dialect on the pg client `sql`, whose store operations each get `queryTimeout`. */
export const makePostgresDialect = (sql: SqlClient.SqlClient, queryTimeout: Duration.Duration): SqlDialectService => ({
  system: "postgresql",
  run: (statement) => statement,
  call: (operation, table, effect) =>
    call(operation, table, effect).pipe(
      Effect.timeoutFail({
        duration: queryTimeout,
        onTimeout: () =>
          new StoreError({ operation, message: `no answer from PostgreSQL within ${Duration.format(queryTimeout)}`, retryable: true })
      })
    ),
  text: (text) => Buffer.from(text, "utf8"),
  flag: (value) => value,
  noLimit: null,
  byteOrder: ` COLLATE "C"`,
  rows: pgRows,
  now: Effect.flatMap(
    sql`SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS now`,
    (rows) => Effect.map(Effect.orDie(decodeNow(rows)), ([row]) => Number(row.now))
  )
})
