/**
 * Budgets: a pure function of the ledger and the clock, and the pipeline that applies them.
 * The scripted model reports 15 tokens a call, 45 a turn (classify, think, synthesize); the
 * clock is the TestClock, so day and month boundaries are crossed exactly.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, TestClock } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { modelRequests, runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { dayStart, monthStart, nextDay, nextMonth, paidFor, renewalText, standingOf } from "../../src/usage/Budget.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"

const jan31Late = Date.UTC(2026, 0, 31, 22, 0)
const turn = (userId: number, text = "How much is delivery?") => textMessage({ userId, text })
const script = (turns: number) => ({
  classify: Array.from({ length: turns }, () => "delivery"),
  think: Array.from({ length: turns }, () => "notes"),
  synthesize: Array.from({ length: turns }, (_, i) => `Answer ${i + 1}.`)
})

describe("budget arithmetic", () => {
  it("UTC days and months, and when an allowance renews", () => {
    expect(dayStart(jan31Late)).toBe(Date.UTC(2026, 0, 31))
    expect(monthStart(jan31Late)).toBe(Date.UTC(2026, 0, 1))
    expect(nextDay(jan31Late)).toBe(Date.UTC(2026, 1, 1))
    expect(nextMonth(Date.UTC(2026, 11, 31, 23, 59))).toBe(Date.UTC(2027, 0, 1))
    expect(renewalText(Date.UTC(2026, 1, 1))).toBe("on 2026-02-01 00:00 UTC")
  })

  it("bought tokens are spent after the free allowance, never below none", () => {
    const limits = { tokensPerDay: 100, tokensPerMonth: 0 }
    const fresh = standingOf(limits, { today: 90, thisMonth: 90, credited: 1000, paid: 0 }, jan31Late)
    expect(fresh).toMatchObject({ freeLeft: 10, boughtLeft: 1000, over: false, renewsAt: Date.UTC(2026, 1, 1) })
    expect(paidFor(fresh, 45)).toBe(35)
    const spent = standingOf(limits, { today: 150, thisMonth: 150, credited: 1000, paid: 990 }, jan31Late)
    expect(spent).toMatchObject({ freeLeft: 0, boughtLeft: 10, over: false })
    expect(paidFor(spent, 45)).toBe(10)
    expect(standingOf(limits, { today: 150, thisMonth: 150, credited: 1000, paid: 1000 }, jan31Late).over).toBe(true)
    expect(standingOf({ tokensPerDay: 0, tokensPerMonth: 0 }, { today: 1e9, thisMonth: 1e9, credited: 0, paid: 0 }, 0).over).toBe(false)
  })
})

describe("budgets in the dialog", () => {
  it.effect("a daily budget: one warning at 80 %, then the notice without a model call, renewed at the next UTC day", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(jan31Late)
      const first = yield* runUpdates([turn(7)])
      expect(textsTo(first, 7)).toEqual(["Answer 1."])
      // 45 → 90 tokens of 100 crosses 80: the warning comes once, after the answer.
      const second = yield* runUpdates([turn(7)])
      expect(textsTo(second, 7)).toEqual(["Answer 2.", "Heads-up: you have used 80 % of your free allowance. It renews on 2026-02-01 00:00 UTC."])
      // 90 + 45 is past 100: the turn that started finished; the next message is refused.
      yield* runUpdates([turn(7)])
      const calls = (yield* modelRequests()).length
      const refused = yield* runUpdates([turn(7)])
      expect(textsTo(refused, 7)).toEqual(["You have used your free messages for now. They renew on 2026-02-01 00:00 UTC."])
      expect((yield* modelRequests()).length).toBe(calls)
      // Another user is not affected.
      expect(textsTo(yield* runUpdates([turn(8)]), 8)).toEqual(["Answer 4."])
      // At midnight UTC the allowance is back.
      yield* TestClock.adjust(Duration.hours(2))
      expect(textsTo(yield* runUpdates([turn(7)]), 7)).toEqual(["Answer 5."])
    }).pipe(Effect.provide(testBot({ script: script(5), usage: { tokensPerDay: 100 } }))))

  it.effect("a monthly budget holds across days and renews with the UTC month; bought tokens come after it", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 0, 30, 12))
      yield* runUpdates([turn(7), turn(7)])
      yield* TestClock.adjust(Duration.days(1))
      const refused = yield* runUpdates([turn(7)])
      expect(textsTo(refused, 7)).toEqual(["You have used your free messages for now. They renew on 2026-02-01 00:00 UTC."])
      // 50 tokens bought: one more turn, paid from them.
      const ledger = yield* UsageLedger
      yield* ledger.credit({ id: "grant-1", userId: 7 as TelegramId, kind: "grant", tokens: 50, stars: 0, at: 0 })
      expect(textsTo(yield* runUpdates([turn(7)]), 7)).toEqual(["Answer 3."])
      const totals = yield* ledger.userTotals(7 as TelegramId, 0, 0)
      expect(totals).toMatchObject({ credited: 50, paid: 45 })
      // 5 bought tokens left: the next message still goes to the model, and spends them.
      expect(textsTo(yield* runUpdates([turn(7)]), 7)).toEqual(["Answer 4."])
      expect((yield* ledger.userTotals(7 as TelegramId, 0, 0)).paid).toBe(50)
      expect(textsTo(yield* runUpdates([turn(7)]), 7)).toEqual(["You have used your free messages for now. They renew on 2026-02-01 00:00 UTC."])
      yield* TestClock.adjust(Duration.hours(12))
      expect(textsTo(yield* runUpdates([turn(7)]), 7)).toEqual(["Answer 5."])
    }).pipe(Effect.provide(testBot({ script: script(5), usage: { tokensPerMonth: 80 } }))))

  it.effect("BUDGET_EXEMPT_USERS have no budget", () =>
    Effect.gen(function*() {
      yield* runUpdates([turn(7), turn(7)])
      expect(textsTo(yield* runUpdates([turn(7)]), 7)).toEqual(["Answer 3."])
      expect(textsTo(yield* runUpdates([turn(8)]), 8)).toEqual([
        "Answer 4.",
        "Heads-up: you have used 80 % of your free allowance. It renews on 1970-01-02 00:00 UTC."
      ])
      expect(textsTo(yield* runUpdates([turn(8)]), 8)).toEqual(["You have used your free messages for now. They renew on 1970-01-02 00:00 UTC."])
    }).pipe(Effect.provide(testBot({ script: script(5), usage: { tokensPerDay: 10, exemptUsers: [7] } }))))
})
