/**
 * The usage ledger on an SQL database (`SqlStores.ts`): tables `usage_entries` (one row per
 * model of a step of a turn, keyed by chat, update, step and model) and `usage_credits` (one
 * row per credit, keyed by its id). A turn's entries go in just before its reply (`UsageLedger.ts`
 * says why not in one transaction).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { UsageLedger } from "../../usage/UsageLedger.ts"
import { creditColumns, creditRow, decodeCredits, decodeTotals, decodeUserTotals, entryRow, usageTables } from "../usageRows.ts"
import { SqlDialect } from "./SqlDialect.ts"

const { credits: creditsTable, entries: entriesTable } = usageTables

export const makeUsageLedgerSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { call, rows, run } = yield* SqlDialect
  const sum = (expression: string) => sql.unsafe(`CAST(COALESCE(SUM(${expression}), 0) AS BIGINT)`)

  return UsageLedger.of({
    recordTurn: (entries, alongside) =>
      entries.length === 0 ? alongside : call(
        "recordTurn",
        entriesTable,
        Effect.zipRight(
          run(sql`INSERT INTO usage_entries ${sql.insert(entries.map(entryRow))}
              ON CONFLICT (chat_id, update_id, stage, model) DO NOTHING`),
          alongside
        )
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
          (result) => decodeUserTotals("userTotals", entriesTable)(rows(result))
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
          (result) => decodeCredits("creditOf", creditsTable)(rows(result))
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
          (result) => decodeTotals("totals", entriesTable)(rows(result))
        )
      ),
    credits: (since) =>
      call(
        "credits",
        creditsTable,
        Effect.flatMap(
          run(sql`SELECT ${sql.unsafe(creditColumns)} FROM usage_credits WHERE at >= ${since} ORDER BY at, id`),
          (result) => decodeCredits("credits", creditsTable)(rows(result))
        )
      )
  })
})

/** The ledger on the `SqlClient` of the context (SQLite or PostgreSQL, migrated). */
export const UsageLedgerSql = Layer.effect(UsageLedger, makeUsageLedgerSql)
