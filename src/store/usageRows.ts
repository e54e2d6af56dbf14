/**
 * The ledger's rows, the same in SQLite, PostgreSQL and YDB: tables `usage_entries` (keyed by
 * chat_id, update_id, stage, model) and `usage_credits` (keyed by id), their columns, and the
 * Schemas that read them back (integers come as numbers or bigints: `plainRows` makes them numbers).
 */
import { Effect, ParseResult, Schema } from "effect"
import { StoreError } from "../domain/errors.ts"
import { TelegramId } from "../domain/Update.ts"
import { plainRows } from "./rows.ts"
import type { Credit, UsageEntry, UsageTotals, UserTotals } from "../usage/UsageLedger.ts"

export const usageTables = { entries: "usage_entries", credits: "usage_credits" } as const

/** An entry as a row of `usage_entries`. */
export const entryRow = (e: UsageEntry) => ({
  chat_id: e.chatId,
  update_id: e.updateId,
  stage: e.stage,
  model: e.model,
  user_id: e.userId,
  thread_id: e.threadId ?? 0,
  prompt_tokens: e.promptTokens,
  cached_prompt_tokens: e.cachedPromptTokens,
  completion_tokens: e.completionTokens,
  reasoning_tokens: e.reasoningTokens,
  paid_tokens: e.paidTokens,
  at: e.at
})

/** A credit as a row of `usage_credits`. */
export const creditRow = (c: Credit) => ({ id: c.id, user_id: c.userId, kind: c.kind, tokens: c.tokens, stars: c.stars, at: c.at })

export const creditColumns = "id, user_id, kind, tokens, stars, at"

const Int = Schema.Number

const CreditRow = Schema.Struct({
  id: Schema.String,
  user_id: TelegramId,
  kind: Schema.Literal("stars", "subscription", "grant", "refund"),
  tokens: Int,
  stars: Int,
  at: Int
})

const UserTotalsRow = Schema.Struct({ today: Int, this_month: Int, credited: Int, paid: Int })

const TotalsRow = Schema.Struct({
  user_id: TelegramId,
  model: Schema.String,
  turns: Int,
  prompt_tokens: Int,
  cached_prompt_tokens: Int,
  completion_tokens: Int,
  reasoning_tokens: Int
})

/** Rows decoded with `schema` and mapped to records; a row that does not match is a StoreError naming the field. */
export const decodeRows = <A, I, B>(schema: Schema.Schema<A, I>, map: (row: A) => B) => {
  const decode = Schema.decodeUnknown(Schema.Array(schema))
  return (operation: string, table: string) => (rows: ReadonlyArray<unknown>): Effect.Effect<ReadonlyArray<B>, StoreError> =>
    decode(plainRows(rows)).pipe(
      Effect.map((decoded) => decoded.map(map)),
      Effect.mapError((error) =>
        new StoreError({
          operation,
          message: `a row of ${table} does not match its schema at ${
            ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path.join(".") || "(row)").join(", ")
          }`
        })
      )
    )
}

export const decodeCredits = decodeRows(CreditRow, (r): Credit => ({
  id: r.id, userId: r.user_id, kind: r.kind, tokens: r.tokens, stars: r.stars, at: r.at
}))

export const decodeUserTotals = (operation: string, table: string) => (rows: ReadonlyArray<unknown>) =>
  Effect.map(
    decodeRows(UserTotalsRow, (r): UserTotals => ({ today: r.today, thisMonth: r.this_month, credited: r.credited, paid: r.paid }))(
      operation,
      table
    )(rows),
    (all) => all[0] ?? { today: 0, thisMonth: 0, credited: 0, paid: 0 }
  )

export const decodeTotals = decodeRows(TotalsRow, (r): UsageTotals => ({
  userId: r.user_id,
  model: r.model,
  turns: r.turns,
  promptTokens: r.prompt_tokens,
  cachedPromptTokens: r.cached_prompt_tokens,
  completionTokens: r.completion_tokens,
  reasoningTokens: r.reasoning_tokens
}))
