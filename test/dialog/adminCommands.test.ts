/** `/stats` and `/grant`: answered in the admin chat only, from the ledger and the profile's prices. */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, TestClock } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { statsText } from "../../src/dialog/adminCommands.ts"
import { runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"

const admin = -100500

describe("admin commands", () => {
  it("/stats text: users, turns, tokens and cost per model, top users, Stars", () => {
    const totals = (userId: number, model: string, prompt: number, completion: number) => ({
      userId: userId as TelegramId, model, turns: 1, promptTokens: prompt, cachedPromptTokens: 0, completionTokens: completion, reasoningTokens: 0
    })
    const month = [totals(1, "gpt-4o-mini-2024-07-18", 1_000_000, 0), totals(2, "gpt-4o-mini-2024-07-18", 0, 1_000_000)]
    const text = statsText(
      { "gpt-4o-mini": { input: 0.15, output: 0.6 } },
      month,
      [month[0]!],
      [{ id: "c", userId: 1 as TelegramId, kind: "stars", tokens: 1, stars: 50, at: 0 }]
    )
    expect(text).toBe([
      "Stats (UTC)",
      "Active users: 1 today, 2 this month",
      "gpt-4o-mini-2024-07-18: 2 turns, 2,000,000 tokens, $0.7500",
      "Top users by cost: 2 $0.6000, 1 $0.1500",
      "Stars received this month: 50"
    ].join("\n"))
  })

  it.effect("/grant adds bought tokens; /stats counts the turns; both refused outside the admin chat", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 2, 10))
      yield* runUpdates([textMessage({ userId: 7, text: "hello" })])
      expect(textsTo(yield* runUpdates([textMessage({ userId: 7, text: "/grant 7 500" })]), 7)).toEqual(["/grant is accepted in the admin chat only."])
      expect(textsTo(yield* runUpdates([textMessage({ userId: 1, chatId: admin, text: "/grant 7 500" })]), admin)).toEqual(["Granted 500 tokens to 7."])
      expect((yield* (yield* UsageLedger).userTotals(7 as TelegramId, 0, 0)).credited).toBe(500)
      const stats = textsTo(yield* runUpdates([textMessage({ userId: 1, chatId: admin, text: "/stats" })]), admin)
      expect(stats[0]).toContain("Active users: 1 today, 1 this month\nscripted: 1 turns, 45 tokens, $0.0000")
    }).pipe(Effect.provide(testBot({ script: { classify: ["general"], think: ["ok"], synthesize: ["Hi!"] }, handoff: { adminChatId: Option.some(admin) } }))))
})
