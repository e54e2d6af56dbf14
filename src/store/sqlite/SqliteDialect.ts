/**
 * The SQL stores' dialect on SQLite (`../sql/SqlDialect.ts`). Text is SQLite's own (it holds any
 * string, NUL included), flags are 0/1, `LIMIT -1` means no limit, text sorts by its bytes
 * (SQLite's default collation, BINARY) and rows come out of the driver already plain. A failure
 * of SQLite is retryable when the database was busy or locked. Processes that share a file
 * share a machine, so the lease runs on the process clock.
 *
 * Statements take the worker client's direct path (`SqliteWorkerClient.run`) when the database
 * is in a worker: it skips @effect/sql's per-statement span, scope and connection acquisition
 * when no transaction is open and tracing is off (some fifty runtime steps per statement, on
 * every statement of every update; bench/README.md). With the in-thread client each statement
 * runs as it is.
 */
import type { SqlError } from "@effect/sql"
import { Clock, Effect, Layer, Option } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { causeMessage, type RunStatement, SqlDialect, storeCall } from "../sql/SqlDialect.ts"
import { SqliteWorkerClient } from "./SqliteWorkerClient.ts"

const sqliteCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

/** A SQLite failure as a StoreError. SQLite's messages name the problem, never a bound value. */
export const fromSqlError = (operation: string) => (error: SqlError.SqlError): StoreError => {
  const code = sqliteCode(error.cause)
  return new StoreError({
    operation,
    message: `${error.message}: ${causeMessage(error.cause)}${code === undefined ? "" : ` (${code})`}`,
    retryable: code === "SQLITE_BUSY" || code === "SQLITE_LOCKED"
  })
}

const call = storeCall("sqlite", fromSqlError)
const asIs = <A>(value: A): A => value

/** The dialect on the SQLite client of the context: the worker's direct path when there is a worker. */
export const SqliteDialect: Layer.Layer<SqlDialect> = Layer.effect(
  SqlDialect,
  Effect.map(Effect.serviceOption(SqliteWorkerClient), (worker) =>
    SqlDialect.of({
      system: "sqlite",
      run: Option.match(worker, { onNone: (): RunStatement => (statement) => statement, onSome: (client) => client.run }),
      call,
      text: asIs,
      flag: (value) => (value ? 1 : 0),
      noLimit: -1,
      byteOrder: "",
      rows: asIs,
      now: Clock.currentTimeMillis
    }))
)
