/**
 * What `usage report` runs (src/cli/usageCommand.ts), imported when it runs: tokens and cost per
 * user and per model from the ledger of the configured store, priced with the profile's price
 * table (`BOT_PROFILE`). An SQLite file is read without taking the bot's single-instance
 * lease, so the report runs next to a running bot.
 */
import { Effect, Layer } from "effect"
import { BotProfile, costOf, type ModelPrice, priceOf } from "../profile/BotProfile.ts"
import { selectedProfile } from "../runtime/Environment.ts"
import { StoresLive } from "../store/Stores.ts"
import { SqliteConfig, StoreKind } from "../store/StoreConfig.ts"
import { StoresSqlite } from "../store/sqlite/SqliteStores.ts"
import { UsageLedger, type UsageTotals } from "../usage/UsageLedger.ts"

interface ReportRow {
  readonly key: string
  readonly turns: number
  readonly promptTokens: number
  readonly cachedPromptTokens: number
  readonly completionTokens: number
  readonly reasoningTokens: number
  readonly cost: number
}

const groupBy = (
  prices: Readonly<Record<string, ModelPrice>> | undefined,
  totals: ReadonlyArray<UsageTotals>,
  keyOf: (t: UsageTotals) => string
): ReadonlyArray<ReportRow> => {
  const rows = new Map<string, ReportRow>()
  for (const t of totals) {
    const key = keyOf(t)
    const row = rows.get(key) ?? { key, turns: 0, promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0, cost: 0 }
    rows.set(key, {
      key,
      turns: row.turns + t.turns,
      promptTokens: row.promptTokens + t.promptTokens,
      cachedPromptTokens: row.cachedPromptTokens + t.cachedPromptTokens,
      completionTokens: row.completionTokens + t.completionTokens,
      reasoningTokens: row.reasoningTokens + t.reasoningTokens,
      cost: row.cost + costOf(priceOf(prices, t.model), t)
    })
  }
  return [...rows.values()].sort((a, b) => b.cost - a.cost || a.key.localeCompare(b.key))
}

const cells = (row: ReportRow) => [
  row.key,
  String(row.turns),
  String(row.promptTokens),
  String(row.cachedPromptTokens),
  String(row.completionTokens),
  String(row.reasoningTokens),
  row.cost.toFixed(6)
]
const header = ["TURNS", "PROMPT", "CACHED", "COMPLETION", "REASONING", "COST_USD"]

const table = (title: string, rows: ReadonlyArray<ReportRow>): string => {
  const all = [[title, ...header], ...rows.map(cells)]
  const widths = all[0]!.map((_, column) => Math.max(...all.map((row) => row[column]!.length)))
  return all.map((row) => row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join("  ")).join("\n")
}

/**
 * The report of the ledger's totals: per user, then per model, as two tables or as one CSV
 * (`group,key,turns,…`; `group` is `user` or `model`). A turn that used two models counts in
 * each of them.
 */
export const usageReport = (
  prices: Readonly<Record<string, ModelPrice>> | undefined,
  totals: ReadonlyArray<UsageTotals>,
  csv: boolean
): string => {
  const users = groupBy(prices, totals, (t) => String(t.userId))
  const models = groupBy(prices, totals, (t) => t.model)
  if (csv) {
    return [
      "group,key,turns,prompt_tokens,cached_prompt_tokens,completion_tokens,reasoning_tokens,cost_usd",
      ...users.map((row) => ["user", ...cells(row)].join(",")),
      // A model name is quoted: it is the one free-form field.
      ...models.map((row) => ["model", ...cells(row)].map((cell, i) => (i === 1 ? `"${cell.replaceAll("\"", "\"\"")}"` : cell)).join(","))
    ].join("\n")
  }
  return `${table("USER", users)}\n\n${table("MODEL", models)}`
}

/** The configured store for reading; SQLite without the single-instance lease. */
export const reportStores = Layer.unwrapEffect(
  Effect.map(StoreKind, (kind) => (kind === "sqlite" ? Layer.unwrapEffect(Effect.map(SqliteConfig, StoresSqlite)) : StoresLive))
)

/** The report since `since` (epoch ms; 0 for all) from the configured store and profile. */
export const runUsageReport = (since: number, csv: boolean) =>
  Effect.gen(function*() {
    const ledger = yield* UsageLedger
    const profile = yield* BotProfile
    return usageReport(profile.prices, yield* ledger.totals(since), csv)
  }).pipe(Effect.provide(Layer.merge(reportStores, selectedProfile)))
