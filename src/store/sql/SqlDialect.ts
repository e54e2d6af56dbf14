/**
 * What differs between the SQL databases the stores run on (SQLite, PostgreSQL), as one small
 * record: the stores in this folder are written once over @effect/sql's `SqlClient` and ask the
 * `SqlDialect` of the context for the rest. Each database layer provides its record beside its
 * client (`../sqlite/SqliteDialect.ts`, `../postgres/PostgresDialect.ts`), built from what only
 * that layer knows: whether the SQLite connection lives in a worker thread (whose direct path
 * `run` takes), PostgreSQL's operation deadline and its server clock.
 *
 * @effect/sql's own stores (`SqlMessageStorage`) pick such differences with
 * `sql.onDialectOrElse` from the client's dialect name; here some of them are not a property of
 * the dialect but of how the database was opened, so the database layer hands over the record.
 */
import type { SqlError, Statement } from "@effect/sql"
import { Context, Effect } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { annotatedSpan } from "../../observability/span.ts"

/** Runs the statements of one store operation on `table`; the database's failures become StoreErrors of `operation`. */
export type StoreCall = <A, R>(
  operation: string,
  table: string,
  effect: Effect.Effect<A, SqlError.SqlError | StoreError, R>
) => Effect.Effect<A, StoreError, R>

/** A value bound to a statement's parameter. */
export type SqlParameter = string | number | boolean | Uint8Array | null

/** Runs one statement for its rows. */
export type RunStatement = <A extends object>(statement: Statement.Statement<A>) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>

export interface SqlDialectService {
  /** The database as spans name it (`db.system.name`). */
  readonly system: "sqlite" | "postgresql"
  /**
   * Runs one statement for its rows. Every statement of the stores goes through it, so that a
   * database may take a shorter path than @effect/sql's (SQLite's worker: `SqliteWorkerClient.run`).
   */
  readonly run: RunStatement
  /**
   * Runs the statements of one store operation: the call's span is told the database and the
   * table, a failure of the database is a StoreError (retryable where a retry may succeed), and
   * the operation deadline applies where the database has one. The span itself is the
   * instrumentation's (`instrumentStores`), not made here.
   */
  readonly call: StoreCall
  /** Free text (names, messages, payloads) as a parameter. */
  readonly text: (text: string) => SqlParameter
  /** A flag as a parameter. */
  readonly flag: (value: boolean) => SqlParameter
  /** The `LIMIT` value that means no limit. */
  readonly noLimit: number | null
  /** What follows a text column in `ORDER BY` so that it sorts by its bytes, whatever the database's collation. */
  readonly byteOrder: string
  /** Rows as the driver gives them, in the plain form the shared row schemas decode (`../rows.ts`). */
  readonly rows: (rows: ReadonlyArray<unknown>) => ReadonlyArray<unknown>
  /** The time in epoch milliseconds as the single-instance lease reads it (`./InstanceLeaseSql.ts`). */
  readonly now: Effect.Effect<number, SqlError.SqlError>
}

export class SqlDialect extends Context.Tag("dialog-bot/SqlDialect")<SqlDialect, SqlDialectService>() {}

export const causeMessage = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/**
 * The call of a database whose failures `toStoreError` turns into StoreErrors: the span gets
 * `db.system.name` and `db.collection.name`, a `SqlError` becomes the operation's StoreError.
 */
export const storeCall = (
  system: SqlDialectService["system"],
  toStoreError: (operation: string) => (error: SqlError.SqlError) => StoreError
): StoreCall =>
(operation, table, effect) =>
  annotatedSpan(
    { "db.system.name": system, "db.collection.name": table },
    Effect.catchTag(effect, "SqlError", (error) => Effect.fail(toStoreError(operation)(error)))
  )

/**
 * A row limit as a whole number of rows, `undefined` for none (no limit given, or not a number):
 * a fraction is rounded down, a negative limit is 0, Infinity is the largest exact integer.
 */
export const rowLimit = (limit: number | undefined): number | undefined =>
  limit === undefined || Number.isNaN(limit) ? undefined : Math.max(0, Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER))

/** An optional text parameter: the dialect's `text`, or NULL. */
export const optionalText = (text: SqlDialectService["text"], value: string | undefined): SqlParameter =>
  value === undefined ? null : text(value)
