/**
 * The usage ledger's contract: one suite every store's ledger passes (memory, SQLite,
 * PostgreSQL, YDB). Tests use ids of their own, so the suite also runs on a shared database.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, type Layer, Option } from "effect"
import { StoreError } from "../../src/domain/errors.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { type Credit, type UsageEntry, UsageLedger } from "../../src/usage/UsageLedger.ts"

const id = (n: number) => n as TelegramId
const freshBase = () => 2_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1_000

const day = 86_400_000
const jan31 = Date.UTC(2026, 0, 31, 23, 0)

const entry = (user: number, update: number, at: number, over: Partial<UsageEntry> = {}): UsageEntry => ({
  userId: id(user),
  chatId: id(user),
  updateId: id(update),
  stage: "synthesize",
  model: "gpt-test",
  promptTokens: 100,
  cachedPromptTokens: 40,
  completionTokens: 20,
  reasoningTokens: 5,
  paidTokens: 0,
  at,
  ...over
})

const credit = (user: number, charge: string, tokens: number, over: Partial<Credit> = {}): Credit => ({
  id: charge, userId: id(user), kind: "stars", tokens, stars: 50, at: jan31, ...over
})

export interface LedgerContractOptions {
  readonly skip?: string | undefined
}

export const ledgerContract = (name: string, layer: Layer.Layer<Stores, StoreError>, options: LedgerContractOptions = {}) => {
  const test = <A>(label: string, body: () => Effect.Effect<A, StoreError, Stores>) =>
    it.effect.skipIf(options.skip !== undefined)(label, () => Effect.provide(Effect.suspend(body), layer))

  describe(`usage ledger contract: ${name}${options.skip === undefined ? "" : ` (skipped: ${options.skip})`}`, () => {
    test("a turn's entries are written with its reply, once: the same turn recorded again counts once", () =>
      Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const history = yield* HistoryStore
        const user = freshBase()
        const reply = { chatId: id(user), updateId: id(user + 1), role: "assistant", text: "hi", at: jan31 } as const
        const turn = [entry(user, user + 1, jan31), entry(user, user + 1, jan31, { stage: "classify", promptTokens: 30, completionTokens: 1 })]
        yield* ledger.recordTurn(turn, history.append(reply))
        yield* ledger.recordTurn(turn, history.append(reply))
        expect(yield* history.replyFor(id(user), id(user + 1))).toEqual(Option.some("hi"))
        const totals = yield* ledger.userTotals(id(user), jan31 - day, jan31 - 30 * day)
        expect(totals).toEqual({ today: 151, thisMonth: 151, credited: 0, paid: 0 })
      }))

    test("today and this month are the entries since their starts; paid tokens are counted whenever they were spent", () =>
      Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const user = freshBase()
        const dayStart = Date.UTC(2026, 0, 31)
        const monthStart = Date.UTC(2026, 0, 1)
        yield* ledger.recordTurn([entry(user, user + 1, dayStart + 1000, { paidTokens: 20 })], Effect.void)
        yield* ledger.recordTurn([entry(user, user + 2, dayStart - 1)], Effect.void)
        yield* ledger.recordTurn([entry(user, user + 3, monthStart - 1, { paidTokens: 7 })], Effect.void)
        yield* ledger.recordTurn([entry(user + 999, user + 4, dayStart + 1)], Effect.void)
        expect(yield* ledger.userTotals(id(user), dayStart, monthStart)).toEqual({ today: 120, thisMonth: 240, credited: 0, paid: 27 })
        expect(yield* ledger.userTotals(id(user + 5), dayStart, monthStart)).toEqual({ today: 0, thisMonth: 0, credited: 0, paid: 0 })
      }))

    test("a credit is inserted once per id: the same charge again is refused by the store, a refund subtracts", () =>
      Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const user = freshBase()
        const charge = `charge-${user}`
        expect(yield* ledger.credit(credit(user, charge, 100_000))).toBe(true)
        expect(yield* ledger.credit(credit(user, charge, 100_000))).toBe(false)
        expect(yield* ledger.credit(credit(user, `other-${user}`, 5_000, { kind: "grant", stars: 0 }))).toBe(true)
        expect((yield* ledger.userTotals(id(user), 0, 0)).credited).toBe(105_000)
        expect(yield* ledger.credit(credit(user, `refund:${charge}`, -60_000, { kind: "refund", stars: -50 }))).toBe(true)
        expect((yield* ledger.userTotals(id(user), 0, 0)).credited).toBe(45_000)
        expect(yield* ledger.creditOf(charge)).toEqual(Option.some(credit(user, charge, 100_000)))
        expect(yield* ledger.creditOf(`none-${user}`)).toEqual(Option.none())
        const since = yield* ledger.credits(jan31)
        expect(since.filter((c) => c.userId === id(user)).map((c) => c.id).sort()).toEqual([charge, `other-${user}`, `refund:${charge}`].sort())
      }))

    test("totals per user and model since a time, with the number of turns", () =>
      Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const user = freshBase()
        const since = jan31 + 1000 * (user % 1000)
        yield* ledger.recordTurn([entry(user, user + 1, since), entry(user, user + 1, since, { stage: "think" })], Effect.void)
        yield* ledger.recordTurn([entry(user, user + 2, since + 5, { model: "cheap" })], Effect.void)
        yield* ledger.recordTurn([entry(user, user + 3, since - 1)], Effect.void)
        const mine = (yield* ledger.totals(since)).filter((t) => t.userId === id(user))
        expect(mine).toEqual([
          { userId: id(user), model: "cheap", turns: 1, promptTokens: 100, cachedPromptTokens: 40, completionTokens: 20, reasoningTokens: 5 },
          { userId: id(user), model: "gpt-test", turns: 1, promptTokens: 200, cachedPromptTokens: 80, completionTokens: 40, reasoningTokens: 10 }
        ])
      }))

    test("a turn's entries go in before its reply: a reply that fails keeps them, and the turn run again counts once", () =>
      Effect.gen(function*() {
        const ledger = yield* UsageLedger
        const history = yield* HistoryStore
        const user = freshBase()
        const turn = [entry(user, user + 1, jan31)]
        const failed = yield* Effect.either(
          ledger.recordTurn(turn, Effect.fail(new StoreError({ operation: "append", message: "refused" })))
        )
        expect(Either.isLeft(failed)).toBe(true)
        const spent = (yield* ledger.userTotals(id(user), 0, 0)).thisMonth
        expect(spent).toBeGreaterThan(0)
        // The run after a crash spends again, under the same key: the first run's entries stand.
        yield* ledger.recordTurn([entry(user, user + 1, jan31, { promptTokens: 999 })], history.append({
          chatId: id(user), updateId: id(user + 1), role: "assistant", text: "hi", at: jan31
        }))
        expect((yield* ledger.userTotals(id(user), 0, 0)).thisMonth).toBe(spent)
        expect(yield* history.replyFor(id(user), id(user + 1))).toEqual(Option.some("hi"))
      }))
  })
}
