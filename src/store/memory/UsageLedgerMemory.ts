/** The usage ledger in memory (tests, demos): the same keys and answers as the stores'. */
import { Effect, Layer, Option } from "effect"
import { type Credit, entryTokens, type UsageEntry, UsageLedger, type UsageTotals } from "../../usage/UsageLedger.ts"

export const makeUsageLedgerMemory = Effect.sync(() => {
  const entries = new Map<string, UsageEntry>()
  const credits = new Map<string, Credit>()
  const keyOf = (e: UsageEntry) => `${e.chatId}\u0000${e.updateId}\u0000${e.stage}\u0000${e.model}`
  return UsageLedger.of({
    recordTurn: (turn, alongside) =>
      Effect.zipRight(
        Effect.sync(() => {
          for (const entry of turn) if (!entries.has(keyOf(entry))) entries.set(keyOf(entry), entry)
        }),
        alongside
      ),
    userTotals: (userId, dayStart, monthStart) =>
      Effect.sync(() => {
        let today = 0, thisMonth = 0, paid = 0, credited = 0
        for (const e of entries.values()) {
          if (e.userId !== userId) continue
          paid += e.paidTokens
          if (e.at >= monthStart) thisMonth += entryTokens(e)
          if (e.at >= dayStart) today += entryTokens(e)
        }
        for (const c of credits.values()) if (c.userId === userId) credited += c.tokens
        return { today, thisMonth, credited, paid }
      }),
    credit: (credit) =>
      Effect.sync(() => {
        if (credits.has(credit.id)) return false
        credits.set(credit.id, credit)
        return true
      }),
    creditOf: (id) => Effect.sync(() => Option.fromNullable(credits.get(id))),
    totals: (since) =>
      Effect.sync(() => {
        const byKey = new Map<string, UsageTotals & { readonly updates: Set<number> }>()
        for (const e of entries.values()) {
          if (e.at < since) continue
          const key = `${e.userId}\u0000${e.model}`
          const t = byKey.get(key) ?? {
            userId: e.userId, model: e.model, turns: 0, promptTokens: 0, cachedPromptTokens: 0, completionTokens: 0, reasoningTokens: 0,
            updates: new Set<number>()
          }
          t.updates.add(e.updateId)
          byKey.set(key, {
            ...t,
            turns: t.updates.size,
            promptTokens: t.promptTokens + e.promptTokens,
            cachedPromptTokens: t.cachedPromptTokens + e.cachedPromptTokens,
            completionTokens: t.completionTokens + e.completionTokens,
            reasoningTokens: t.reasoningTokens + e.reasoningTokens
          })
        }
        return [...byKey.values()]
          .map(({ updates: _, ...t }) => t)
          .sort((a, b) => a.userId - b.userId || a.model.localeCompare(b.model))
      }),
    credits: (since) => Effect.sync(() => [...credits.values()].filter((c) => c.at >= since).sort((a, b) => a.at - b.at))
  })
})

export const UsageLedgerMemory = Layer.effect(UsageLedger, makeUsageLedgerMemory)
