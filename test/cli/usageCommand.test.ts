/** `usage report`: the ledger's totals per user and per model, read from an SQLite file, as tables or CSV. */
import { mkdtempSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { runUsageReport, usageReport } from "../../src/cli/usageReport.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"
import { turnEntries, UsageLedger } from "../../src/usage/UsageLedger.ts"

const totals = (userId: number, model: string, prompt: number, cached: number, completion: number) => ({
  userId: userId as TelegramId, model, turns: 1, promptTokens: prompt, cachedPromptTokens: cached, completionTokens: completion, reasoningTokens: 0
})
const call = (stage: string, model: string, prompt: number, completion: number) => ({
  stage, model, usage: { promptTokens: prompt, cachedPromptTokens: 0, completionTokens: completion, reasoningTokens: 0 }
})

describe("usage report", () => {
  it("prices per user and per model, most expensive first; CSV with the model quoted", () => {
    const prices = { "gpt-4o-mini": { input: 0.15, cachedInput: 0.075, output: 0.6 }, "gpt-4o": { input: 2.5, output: 10 } }
    const rows = [totals(1, "gpt-4o-mini-2024-07-18", 1_000_000, 500_000, 0), totals(2, "gpt-4o", 0, 0, 100_000), totals(1, "gpt-4o", 0, 0, 1000)]
    expect(usageReport(prices, rows, false)).toBe([
      "USER  TURNS   PROMPT  CACHED  COMPLETION  REASONING  COST_USD",
      "2         1        0       0      100000          0  1.000000",
      "1         2  1000000  500000        1000          0  0.122500",
      "",
      "MODEL                   TURNS   PROMPT  CACHED  COMPLETION  REASONING  COST_USD",
      "gpt-4o                      2        0       0      101000          0  1.010000",
      "gpt-4o-mini-2024-07-18      1  1000000  500000           0          0  0.112500"
    ].join("\n"))
    expect(usageReport(prices, rows, true).split("\n")).toEqual([
      "group,key,turns,prompt_tokens,cached_prompt_tokens,completion_tokens,reasoning_tokens,cost_usd",
      "user,2,1,0,0,100000,0,1.000000",
      "user,1,2,1000000,500000,1000,0,0.122500",
      "model,\"gpt-4o\",2,0,0,101000,0,1.010000",
      "model,\"gpt-4o-mini-2024-07-18\",1,1000000,500000,0,0,0.112500"
    ])
  })

  it.effect("reads the configured SQLite file, from --since on", () =>
    Effect.gen(function*() {
      const path = join(mkdtempSync(join(tmpdir(), "usage-report-")), "bot.db")
      yield* Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const turn = (userId: number, updateId: number, at: number) => ({ userId: userId as TelegramId, chatId: userId as TelegramId, updateId: updateId as TelegramId, at })
        yield* ledger.recordTurn(turnEntries(turn(7, 1, Date.UTC(2026, 1, 20)), [call("classify", "m1", 10, 1)], 0), Effect.void)
        yield* ledger.recordTurn(turnEntries(turn(7, 2, Date.UTC(2026, 2, 2)), [call("classify", "m1", 20, 2), call("synthesize", "m2", 30, 3)], 0), Effect.void)
        yield* ledger.recordTurn(turnEntries(turn(8, 3, Date.UTC(2026, 2, 3)), [call("synthesize", "m2", 40, 4)], 0), Effect.void)
      }).pipe(Effect.provide(StoresSqlite({ path, busyTimeout: "1 second" })))
      const report = (since: number) =>
        runUsageReport(since, true).pipe(
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["STORE", "sqlite"], ["SQLITE_PATH", path], ["BOT_PROFILE", defaultProfilePath]])))
        )
      expect((yield* report(Date.UTC(2026, 2, 1))).split("\n").slice(1)).toEqual([
        "user,7,2,50,0,5,0,0.000000",
        "user,8,1,40,0,4,0,0.000000",
        // No prices in the profile: equal costs, by name.
        "model,\"m1\",1,20,0,2,0,0.000000",
        "model,\"m2\",2,70,0,7,0,0.000000"
      ])
      expect((yield* report(0)).split("\n")).toContain("user,7,3,60,0,6,0,0.000000")
    }))
})
