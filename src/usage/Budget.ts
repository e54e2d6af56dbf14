/**
 * Budgets as a pure function of the ledger and the clock. A user has a free allowance per UTC
 * day and per UTC month (either may be off); tokens bought are spent only beyond it. A message
 * is refused when both are spent; a turn already started finishes, and what it spends beyond
 * the free allowance is paid from bought tokens (never below none left).
 */
import type { UserTotals } from "./UsageLedger.ts"

export interface BudgetLimits {
  /** Free tokens per UTC day; 0 is no limit. */
  readonly tokensPerDay: number
  /** Free tokens per UTC month; 0 is no limit. */
  readonly tokensPerMonth: number
}

/** The share of an allowance after which a user is warned once. */
export const warningShare = 0.8

export const hasLimits = (limits: BudgetLimits): boolean => limits.tokensPerDay > 0 || limits.tokensPerMonth > 0

/** Start of the UTC day of `now` (epoch ms). */
export const dayStart = (now: number): number => {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate())
}

/** Start of the UTC month of `now`. */
export const monthStart = (now: number): number => {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1)
}

/** Start of the next UTC day. */
export const nextDay = (now: number): number => {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate() + 1)
}

/** Start of the next UTC month. */
export const nextMonth = (now: number): number => {
  const d = new Date(now)
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1)
}

/** Where a user stands at `now`. */
export interface Standing {
  readonly usedToday: number
  readonly usedThisMonth: number
  /** Free tokens left now (Infinity without limits). */
  readonly freeLeft: number
  /** Bought tokens left. */
  readonly boughtLeft: number
  /** Nothing left to spend: a new message is not sent to the model. */
  readonly over: boolean
  /** When the free allowance next grows (epoch ms), if it is limited. */
  readonly renewsAt: number | undefined
}

export const standingOf = (limits: BudgetLimits, totals: UserTotals, now: number): Standing => {
  const dayLeft = limits.tokensPerDay > 0 ? Math.max(0, limits.tokensPerDay - totals.today) : Infinity
  const monthLeft = limits.tokensPerMonth > 0 ? Math.max(0, limits.tokensPerMonth - totals.thisMonth) : Infinity
  const freeLeft = Math.min(dayLeft, monthLeft)
  const boughtLeft = Math.max(0, totals.credited - totals.paid)
  // The month's allowance spent, it renews with the month; otherwise a daily one renews tomorrow.
  const renewsAt = monthLeft === 0
    ? nextMonth(now)
    : limits.tokensPerDay > 0
    ? nextDay(now)
    : limits.tokensPerMonth > 0
    ? nextMonth(now)
    : undefined
  return {
    usedToday: totals.today,
    usedThisMonth: totals.thisMonth,
    freeLeft,
    boughtLeft,
    over: freeLeft <= 0 && boughtLeft <= 0,
    renewsAt
  }
}

/** The tokens of a turn paid from bought tokens: those beyond the free allowance, as many as are left. */
export const paidFor = (standing: Standing, tokens: number): number =>
  Math.min(standing.boughtLeft, Math.max(0, tokens - standing.freeLeft))

/** Whether a turn of `tokens` takes a free allowance past `warningShare` (it warns once: when it crosses). */
export const crossesWarning = (limits: BudgetLimits, standing: Standing, tokens: number): boolean => {
  const crosses = (limit: number, used: number) =>
    limit > 0 && used < limit * warningShare && used + tokens >= limit * warningShare
  return crosses(limits.tokensPerDay, standing.usedToday) || crosses(limits.tokensPerMonth, standing.usedThisMonth)
}

/** A renewal time as people read it: `2026-02-01 00:00 UTC`. */
export const renewalText = (at: number | undefined): string =>
  at === undefined ? "never" : `on ${new Date(at).toISOString().slice(0, 16).replace("T", " ")} UTC`
