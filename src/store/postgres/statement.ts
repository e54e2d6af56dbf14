/**
 * How the PostgreSQL stores run a statement and read its rows: a failure of PostgreSQL is a
 * StoreError of the store operation (retryable when a retry may succeed: a lost connection, a
 * serialization failure, a server starting or shutting down), and the call's span is told which
 * table it touched. The span itself is the instrumentation's (`instrumentStores`), not made here.
 *
 * Free text (names, messages, payloads) is kept as UTF-8 bytes (`bytea`): PostgreSQL's `text`
 * cannot hold a NUL character, which Telegram text may contain. `utf8` turns a string into a
 * parameter, `pgRows` turns bytes back into strings and every other value into the plain form
 * of the shared rows (`../rows.ts`).
 */
import type { SqlError } from "@effect/sql"
import { Effect } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { plainValue } from "../rows.ts"
import { annotateSpan } from "../../observability/span.ts"

const field = (cause: unknown, name: string): string | undefined => {
  if (typeof cause !== "object" || cause === null || !(name in cause)) return undefined
  const value: unknown = Reflect.get(cause, name)
  return typeof value === "string" ? value : undefined
}

export const causeMessage = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

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

/** A string as a `bytea` parameter: its UTF-8 bytes. */
export const utf8 = (text: string): Buffer => Buffer.from(text, "utf8")

/** An optional string as a `bytea` parameter, or NULL. */
export const optionalUtf8 = (text: string | undefined): Buffer | null => (text === undefined ? null : utf8(text))

/** A column value in the plain form of the shared rows; `bytea` is UTF-8 text. */
const pgValue = (value: unknown): unknown => (value instanceof Uint8Array ? Buffer.from(value).toString("utf8") : plainValue(value))

/** Rows of pg in the plain form the shared row schemas decode. */
export const pgRows = (rows: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  rows.map((row) =>
    typeof row === "object" && row !== null && !Array.isArray(row)
      ? Object.fromEntries(Object.entries(row).map(([column, value]) => [column, pgValue(value)]))
      : row
  )

/** A row limit as PostgreSQL takes it: NULL means no limit. */
export const pgLimit = (limit: number | undefined): number | null =>
  limit === undefined || Number.isNaN(limit) ? null : Math.max(0, Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER))

/** Runs the statements of one store operation; PostgreSQL's failures become StoreErrors. */
export const pgCall = <A, R>(
  operation: string,
  table: string,
  effect: Effect.Effect<A, SqlError.SqlError | StoreError, R>
): Effect.Effect<A, StoreError, R> =>
  Effect.zipRight(
    annotateSpan({ "db.system.name": "postgresql", "db.collection.name": table }),
    Effect.catchTag(effect, "SqlError", (error) => Effect.fail(fromSqlError(operation)(error)))
  )
