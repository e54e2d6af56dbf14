/**
 * How the SQLite stores run a statement: a failure of SQLite is a StoreError of the store
 * operation (retryable when the database was busy or locked), and the call's span is told which
 * table it touched. The span itself is the instrumentation's (`instrumentStores`), not made here.
 */
import type { SqlError, Statement } from "@effect/sql"
import { Effect, Option } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { annotateSpan } from "../../observability/span.ts"
import { SqliteWorkerClient } from "./SqliteWorkerClient.ts"

/** Runs one statement for its rows. */
export type RunStatement = <A extends object>(statement: Statement.Statement<A>) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>

/**
 * How the stores run their statements: the worker client's direct path (`SqliteWorkerClient.run`)
 * when the database is in a worker, each statement as it is otherwise (the in-thread client).
 */
export const statementRunner: Effect.Effect<RunStatement> = Effect.map(
  Effect.serviceOption(SqliteWorkerClient),
  Option.match({ onNone: (): RunStatement => (statement) => statement, onSome: (client) => client.run })
)

const sqliteCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

export const causeMessage = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** A SQLite failure as a StoreError. SQLite's messages name the problem, never a bound value. */
export const fromSqlError = (operation: string) => (error: SqlError.SqlError): StoreError => {
  const code = sqliteCode(error.cause)
  return new StoreError({
    operation,
    message: `${error.message}: ${causeMessage(error.cause)}${code === undefined ? "" : ` (${code})`}`,
    retryable: code === "SQLITE_BUSY" || code === "SQLITE_LOCKED"
  })
}

/** Runs the statements of one store operation on `table`; SQLite's failures become StoreErrors. */
export const sqliteCall = <A, R>(
  operation: string,
  table: string,
  effect: Effect.Effect<A, SqlError.SqlError | StoreError, R>
): Effect.Effect<A, StoreError, R> =>
  Effect.zipRight(
    annotateSpan({ "db.system.name": "sqlite", "db.collection.name": table }),
    Effect.catchTag(effect, "SqlError", (error) => Effect.fail(fromSqlError(operation)(error)))
  )

/** A row limit as SQLite takes it: -1 means no limit. */
export const sqlLimit = (limit: number | undefined): number =>
  limit === undefined || Number.isNaN(limit) ? -1 : Math.max(0, Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER))
