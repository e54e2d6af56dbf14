/**
 * The PostgreSQL database the PostgreSQL stores run on (`@effect/sql-pg`, a pool of pg
 * connections), migrated at start. Its `PostgresConnection` is the one place where a store operation
 * gets its deadline and its failures become StoreErrors.
 *
 * 64-bit integers (`bigint` columns, `count(*)`) come out of pg as exact `bigint`s, not as
 * strings: the shared row mapping turns them into numbers where the number is exact and lets a
 * row with an inexact one fail to decode, never hold a wrong id.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import pg from "pg"
import { Cause, Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { migratePostgres } from "./migrations.ts"
import { causeMessage, fromSqlError, pgCall } from "./statement.ts"

export interface PostgresOptions {
  /** `postgres://user:password@host:5432/database` */
  readonly url: Redacted.Redacted
  /** Connections the pool opens at most. */
  readonly poolSize?: number | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Deadline of one store operation. */
  readonly queryTimeout?: Duration.DurationInput | undefined
}

export interface PostgresConnectionService {
  /** The client the stores send their statements to. */
  readonly sql: PgClient.PgClient
  /** Where the database is, without credentials (`postgres://user@host:5432/database`): for messages. */
  readonly where: string
  /**
   * Runs the statements of one store operation on `table` within the operation deadline: a
   * failure of PostgreSQL, or the deadline passing, is a StoreError of `operation`.
   */
  readonly call: <A, R>(
    operation: string,
    table: string,
    effect: Effect.Effect<A, SqlError.SqlError | StoreError, R>
  ) => Effect.Effect<A, StoreError, R>
}

export class PostgresConnection extends Context.Tag("dialog-bot/PostgresConnection")<PostgresConnection, PostgresConnectionService>() {}

/** The database a URL names, for messages: the password left out. */
export const postgresWhere = (url: string): string => {
  if (!URL.canParse(url)) return "(invalid DATABASE_URL)"
  const parsed = new URL(url)
  const user = parsed.username === "" ? "" : `${decodeURIComponent(parsed.username)}@`
  const host = parsed.host === "" ? parsed.searchParams.get("host") ?? "" : parsed.host
  return `postgres://${user}${host}${parsed.pathname}`
}

const int8 = 20

/** pg's parsers, with `bigint` (int8) parsed exactly instead of left a string. */
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === int8 && format !== "binary"
      ? (value: string) => BigInt(value)
      : pg.types.getTypeParser(oid, format)) as pg.CustomTypesConfig["getTypeParser"]
}

const openFailure = (where: string) => (cause: Cause.Cause<unknown>): StoreError => {
  const reason = Option.match(Cause.failureOption(cause), {
    onNone: () => Option.match(Cause.dieOption(cause), { onNone: () => "interrupted", onSome: causeMessage }),
    onSome: (e) => {
      if (typeof e !== "object" || e === null || !("_tag" in e)) return causeMessage(e)
      if (e instanceof StoreError) return e.message
      if (e._tag === "SqlError") return fromSqlError("open")(e as SqlError.SqlError).message
      return `migration failed: ${causeMessage(e)}`
    }
  })
  return new StoreError({ operation: "open", message: `PostgreSQL database ${where}: ${reason}`, retryable: false })
}

/**
 * The database at `options.url`, migrated: `PostgresConnection` and the `PgClient` (an `SqlClient`) under it.
 * A database that cannot be reached in `connectTimeout`, refuses the credentials or cannot be
 * migrated fails the layer with a StoreError naming the database (never the password).
 */
export const PostgresDatabase = (
  options: PostgresOptions
): Layer.Layer<PostgresConnection | PgClient.PgClient | SqlClient.SqlClient, StoreError> => {
  const where = postgresWhere(Redacted.value(options.url))
  const queryTimeout = Duration.decode(options.queryTimeout ?? "10 seconds")
  const client = PgClient.layer({
    url: options.url,
    maxConnections: options.poolSize ?? 10,
    connectTimeout: options.connectTimeout ?? "10 seconds",
    applicationName: "dialog-bot",
    types
  })
  const database = Layer.effect(
    PostgresConnection,
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      yield* migratePostgres
      return PostgresConnection.of({
        sql,
        where,
        call: (operation, table, effect) =>
          pgCall(operation, table, effect).pipe(
            Effect.timeoutFail({
              duration: queryTimeout,
              onTimeout: () =>
                new StoreError({ operation, message: `no answer from PostgreSQL within ${Duration.format(queryTimeout)}`, retryable: true })
            })
          )
      })
    })
  )
  return database.pipe(
    Layer.provideMerge(client),
    Layer.catchAllCause((cause) => Layer.fail(openFailure(where)(cause)))
  )
}
