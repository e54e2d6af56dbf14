/**
 * The usage ledger over @effect/sql's `SqlClient`, written once for SQLite and PostgreSQL (the
 * tables are in each one's migrations). The dialects differ only in how a failure reads
 * (`sql.onDialectOrElse`); the statements are the same. On SQLite a statement takes the worker's
 * direct path when no transaction is open (`statementRunner`); a turn's entries and its reply
 * are one transaction.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { fromSqlError as pgError } from "../store/postgres/statement.ts"
import { fromSqlError as sqliteError, statementRunner } from "../store/sqlite/statement.ts"
import { annotateSpan } from "../observability/span.ts"
import { UsageLedger } from "./UsageLedger.ts"
import { creditColumns, creditRow, decodeCredits, decodeTotals, decodeUserTotals, entryRow, usageTables } from "./usageRows.ts"

const isSqlError = (e: unknown): e is SqlError.SqlError =>
  typeof e === "object" && e !== null && "_tag" in e && e._tag === "SqlError"

const { credits: creditsTable, entries: entriesTable } = usageTables

export const makeUsageLedgerSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const run = yield* statementRunner
  const dialect = sql.onDialectOrElse({
    pg: () => ({ system: "postgresql", failure: pgError }),
    orElse: () => ({ system: "sqlite", failure: sqliteError })
  })
  const call = <A, E>(operation: string, table: string, effect: Effect.Effect<A, SqlError.SqlError | E>): Effect.Effect<A, StoreError | Exclude<E, SqlError.SqlError>> =>
    Effect.zipRight(
      annotateSpan({ "db.system.name": dialect.system, "db.collection.name": table }),
      Effect.mapError(effect, (e) => (isSqlError(e) ? dialect.failure(operation)(e) : e as Exclude<E, SqlError.SqlError>))
    )
  const sum = (expression: string) => sql.unsafe(`CAST(COALESCE(SUM(${expression}), 0) AS BIGINT)`)

  return UsageLedger.of({
    recordTurn: (entries, alongside) =>
      entries.length === 0 ? alongside : call(
        "recordTurn",
        entriesTable,
        sql.withTransaction(Effect.zipRight(
          alongside,
          sql`INSERT INTO usage_entries ${sql.insert(entries.map(entryRow))}
              ON CONFLICT (chat_id, update_id, stage, model) DO NOTHING`
        ))
      ),
    userTotals: (userId, dayStart, monthStart) =>
      call(
        "userTotals",
        entriesTable,
        Effect.flatMap(
          run(sql`
            SELECT
              (SELECT ${sum("prompt_tokens + completion_tokens")} FROM usage_entries WHERE user_id = ${userId} AND at >= ${dayStart}) AS today,
              (SELECT ${sum("prompt_tokens + completion_tokens")} FROM usage_entries WHERE user_id = ${userId} AND at >= ${monthStart}) AS this_month,
              (SELECT ${sum("paid_tokens")} FROM usage_entries WHERE user_id = ${userId}) AS paid,
              (SELECT ${sum("tokens")} FROM usage_credits WHERE user_id = ${userId}) AS credited`),
          decodeUserTotals("userTotals", entriesTable)
        )
      ),
    credit: (credit) =>
      call(
        "credit",
        creditsTable,
        Effect.map(
          run(sql`INSERT INTO usage_credits ${sql.insert(creditRow(credit))} ON CONFLICT (id) DO NOTHING RETURNING id`),
          (rows) => rows.length === 1
        )
      ),
    creditOf: (id) =>
      call(
        "creditOf",
        creditsTable,
        Effect.flatMap(
          run(sql`SELECT ${sql.unsafe(creditColumns)} FROM usage_credits WHERE id = ${id}`),
          decodeCredits("creditOf", creditsTable)
        )
      ).pipe(Effect.map((rows) => Option.fromNullable(rows[0]))),
    totals: (since) =>
      call(
        "totals",
        entriesTable,
        Effect.flatMap(
          run(sql`
            SELECT user_id, model, COUNT(DISTINCT update_id) AS turns,
                   ${sum("prompt_tokens")} AS prompt_tokens, ${sum("cached_prompt_tokens")} AS cached_prompt_tokens,
                   ${sum("completion_tokens")} AS completion_tokens, ${sum("reasoning_tokens")} AS reasoning_tokens
            FROM usage_entries WHERE at >= ${since}
            GROUP BY user_id, model ORDER BY user_id, model`),
          decodeTotals("totals", entriesTable)
        )
      ),
    credits: (since) =>
      call(
        "credits",
        creditsTable,
        Effect.flatMap(
          run(sql`SELECT ${sql.unsafe(creditColumns)} FROM usage_credits WHERE at >= ${since} ORDER BY at, id`),
          decodeCredits("credits", creditsTable)
        )
      )
  })
})

/** The ledger on the `SqlClient` of the context (SQLite or PostgreSQL, migrated). */
export const UsageLedgerSql = Layer.effect(UsageLedger, makeUsageLedgerSql)
