/** The pipeline writes each answered turn's usage to the ledger, once, with the reply. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { runUpdates, testBot, textMessage } from "../../src/testing/index.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"

describe("the usage of a turn", () => {
  it.effect("every model call of an answered turn is in the ledger: the user's tokens, per model, one turn", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 7, text: "How much is delivery?" })])
      const ledger = yield* UsageLedger
      // The scripted model reports 10 prompt and 5 completion tokens a call: classify, think, synthesize.
      expect(yield* ledger.totals(0)).toEqual([
        { userId: 7, model: "scripted", turns: 1, promptTokens: 30, cachedPromptTokens: 0, completionTokens: 15, reasoningTokens: 0 }
      ])
      expect(yield* ledger.userTotals(7 as TelegramId, 0, 0)).toEqual({ today: 45, thisMonth: 45, credited: 0, paid: 0 })
    }).pipe(
      Effect.provide(testBot({ script: { classify: ["delivery"], think: ["notes"], synthesize: ["Standard delivery is 4.90 EUR."] } }))
    ))

  it.effect("a message answered without the model (a command) writes nothing", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 8, text: "/help" })])
      expect(yield* (yield* UsageLedger).totals(0)).toEqual([])
    }).pipe(Effect.provide(testBot({ script: {} }))))
})
