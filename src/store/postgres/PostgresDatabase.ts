/**
 * The PostgreSQL database the SQL stores (`../sql/`) run on (`@effect/sql-pg`, a pool of pg
 * connections), migrated at start. Its `SqlDialect` (`./PostgresDialect.ts`) is the one place
 * where a store operation gets its deadline and its failures become StoreErrors.
 *
 * 64-bit integers (`bigint` columns, `count(*)`) come out of pg as exact `bigint`s, not as
 * strings: the shared row mapping turns them into numbers where the number is exact and lets a
 * row with an inexact one fail to decode, never hold a wrong id.
 */
import type { SqlClient, SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import pg from "pg"
import { Cause, Duration, Effect, Layer, Option, Redacted } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { causeMessage, SqlDialect } from "../sql/SqlDialect.ts"
import { reportApplied } from "../MigrationReport.ts"
import { migratePostgres } from "./migrations.ts"
import { fromSqlError, makePostgresDialect } from "./PostgresDialect.ts"

export interface PostgresOptions {
  /** `postgres://user:password@host:5432/database` */
  readonly url: Redacted.Redacted
  /** Connections the pool opens at most. */
  readonly poolSize?: number | undefined
  readonly connectTimeout?: Duration.DurationInput | undefined
  /** Deadline of one store operation. */
  readonly queryTimeout?: Duration.DurationInput | undefined
}

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
 * The database at `options.url`, migrated: the `PgClient` (an `SqlClient`) and the SQL stores' `SqlDialect` on it.
 * A database that cannot be reached in `connectTimeout`, refuses the credentials or cannot be
 * migrated fails the layer with a StoreError naming the database (never the password).
 */
export const PostgresDatabase = (
  options: PostgresOptions
): Layer.Layer<SqlDialect | PgClient.PgClient | SqlClient.SqlClient, StoreError> => {
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
    SqlDialect,
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      yield* Effect.flatMap(migratePostgres, reportApplied)
      return SqlDialect.of(makePostgresDialect(sql, queryTimeout))
    })
  )
  return database.pipe(
    Layer.provideMerge(client),
    Layer.catchAllCause((cause) => Layer.fail(openFailure(where)(cause)))
  )
}
