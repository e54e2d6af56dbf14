/**
 * The usage ledger on YDB (tables `usage_entries` and `usage_credits`, `./schema.ts`). YDB has
 * no transaction spanning the history store's call, so a turn's entries are written right after
 * its reply, in one INSERT of all of them (a list parameter): a key conflict means the turn was
 * recorded before. A credit is an INSERT of its id: a conflict means it was credited already.
 */
import { identifier } from "@ydbjs/query"
import { List } from "@ydbjs/value/list"
import { Struct } from "@ydbjs/value/struct"
import { Effect, Layer, Option } from "effect"
import { UsageLedger } from "../../usage/UsageLedger.ts"
import { creditColumns, creditRow, decodeCredits, decodeTotals, decodeUserTotals, entryRow } from "../usageRows.ts"
import { int64, onKeyConflict, text, wasConflict } from "./statements.ts"
import { ydbTables, type YdbTables } from "./schema.ts"
import { YdbClient } from "./YdbClient.ts"

const entryStruct = (row: ReturnType<typeof entryRow>) =>
  new Struct({
    chat_id: int64(row.chat_id),
    update_id: int64(row.update_id),
    stage: text(row.stage),
    model: text(row.model),
    user_id: int64(row.user_id),
    thread_id: int64(row.thread_id),
    prompt_tokens: int64(row.prompt_tokens),
    cached_prompt_tokens: int64(row.cached_prompt_tokens),
    completion_tokens: int64(row.completion_tokens),
    reasoning_tokens: int64(row.reasoning_tokens),
    paid_tokens: int64(row.paid_tokens),
    at: int64(row.at)
  })

export const makeUsageLedgerYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const entries = identifier(tables.usageEntries)
    const credits = identifier(tables.usageCredits)
    const byUser = identifier("usage_entries_user")
    const creditsByUser = identifier("usage_credits_user")
    const sum = (column: string) => `CAST(COALESCE(SUM(${column}), 0) AS Int64)`
    return UsageLedger.of({
      recordTurn: (turn, alongside) =>
        turn.length === 0 ? alongside : Effect.zipRight(
          ydb.run(
            "recordTurn",
            tables.usageEntries,
            (sql) => sql`INSERT INTO ${entries} SELECT * FROM AS_TABLE(${new List(...turn.map((e) => entryStruct(entryRow(e))))})`,
            { idempotent: true, onStatus: onKeyConflict }
          ),
          alongside
        ).pipe(Effect.asVoid),
      userTotals: (userId, dayStart, monthStart) =>
        ydb.run(
          "userTotals",
          tables.usageEntries,
          (sql) =>
            sql`$mine = SELECT prompt_tokens + completion_tokens AS tokens, paid_tokens, at FROM ${entries} VIEW ${byUser} WHERE user_id = ${int64(userId)};
                $credited = SELECT ${sql.unsafe(sum("tokens"))} AS credited FROM ${credits} VIEW ${creditsByUser} WHERE user_id = ${int64(userId)};
                SELECT ${sql.unsafe(sum("IF(at >= $day, tokens, 0)"))} AS today,
                       ${sql.unsafe(sum("IF(at >= $month, tokens, 0)"))} AS this_month,
                       ${sql.unsafe(sum("paid_tokens"))} AS paid,
                       COALESCE(($credited), 0) AS credited
                FROM $mine;`.parameter("day", int64(dayStart)).parameter("month", int64(monthStart)),
          { idempotent: true }
        ).pipe(Effect.flatMap((results) => decodeUserTotals("userTotals", tables.usageEntries)(results[0] ?? []))),
      credit: (credit) => {
        const row = creditRow(credit)
        return ydb.run(
          "credit",
          tables.usageCredits,
          (sql) =>
            sql`INSERT INTO ${credits} (id, user_id, kind, tokens, stars, at)
                VALUES (${text(row.id)}, ${int64(row.user_id)}, ${text(row.kind)}, ${int64(row.tokens)}, ${int64(row.stars)}, ${int64(row.at)})`,
          { idempotent: true, onStatus: onKeyConflict }
        ).pipe(Effect.map((results) => !wasConflict(results)))
      },
      creditOf: (id) =>
        ydb.run(
          "creditOf",
          tables.usageCredits,
          (sql) => sql`SELECT ${sql.unsafe(creditColumns)} FROM ${credits} WHERE id = ${text(id)}`,
          { idempotent: true }
        ).pipe(
          Effect.flatMap((results) => decodeCredits("creditOf", tables.usageCredits)(results[0] ?? [])),
          Effect.map((rows) => Option.fromNullable(rows[0]))
        ),
      totals: (since) =>
        ydb.run(
          "totals",
          tables.usageEntries,
          (sql) =>
            sql`SELECT user_id, model, CAST(COUNT(DISTINCT update_id) AS Int64) AS turns,
                       ${sql.unsafe(sum("prompt_tokens"))} AS prompt_tokens, ${sql.unsafe(sum("cached_prompt_tokens"))} AS cached_prompt_tokens,
                       ${sql.unsafe(sum("completion_tokens"))} AS completion_tokens, ${sql.unsafe(sum("reasoning_tokens"))} AS reasoning_tokens
                FROM ${entries} WHERE at >= ${int64(since)}
                GROUP BY user_id, model ORDER BY user_id, model`,
          { idempotent: true }
        ).pipe(Effect.flatMap((results) => decodeTotals("totals", tables.usageEntries)(results[0] ?? []))),
      credits: (since) =>
        ydb.run(
          "credits",
          tables.usageCredits,
          (sql) => sql`SELECT ${sql.unsafe(creditColumns)} FROM ${credits} WHERE at >= ${int64(since)} ORDER BY at, id`,
          { idempotent: true }
        ).pipe(Effect.flatMap((results) => decodeCredits("credits", tables.usageCredits)(results[0] ?? [])))
    })
  })

/** The ledger on the `YdbClient` of the context. */
export const UsageLedgerYdb = (tables: YdbTables = ydbTables()) => Layer.effect(UsageLedger, makeUsageLedgerYdb(tables))
