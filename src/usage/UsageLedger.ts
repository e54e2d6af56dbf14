/**
 * The usage ledger: what every turn spent, per user, conversation, pipeline step and model, and
 * the tokens users were credited (bought with Stars, renewed by a subscription, granted by an
 * admin, taken back by a refund). Budgets (`Budget.ts`) and `/usage`, `/stats` and `usage
 * report` are read from it; nothing else keeps a count.
 *
 * A turn's entries are written once, with the turn's reply (`recordTurn`): just before it, in
 * every store. They are keyed by (chat, update, step, model), so an update run again after a
 * crash never counts twice: a crash between the two leaves the entries and no reply, the turn
 * runs again and its second spending finds the first run's entries in place (the first run's
 * spending is the one counted). Not one transaction: on SQLite an open transaction sends every
 * other fiber's statement down @effect/sql's slow path, which nearly doubled the runtime steps
 * per update in W1 (bench/README.md); the key gives the same count without it. A
 * credit is keyed by its id (Telegram's `telegram_payment_charge_id`): the store inserts it
 * or does nothing, so a payment redelivered, sent in a second update, or seen by two replicas
 * credits once — the row is the dedupe, not a check in code.
 */
import { Context, type Effect, type Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"

/** What one turn spent on one pipeline step with one model. */
export interface UsageEntry {
  readonly userId: TelegramId
  readonly chatId: TelegramId
  /** The forum topic; 0 or absent is the chat's main conversation. */
  readonly threadId?: number | undefined
  readonly updateId: TelegramId
  /** `classify`, `think`, `synthesize`, `transcribe`. */
  readonly stage: string
  readonly model: string
  readonly promptTokens: number
  readonly cachedPromptTokens: number
  readonly completionTokens: number
  readonly reasoningTokens: number
  /** Tokens of this entry paid from bought tokens (beyond the free allowance). */
  readonly paidTokens: number
  /** Epoch milliseconds. */
  readonly at: number
}

export type CreditKind = "stars" | "subscription" | "grant" | "refund"

/** Tokens added to (or, for a refund, taken from) what a user bought. */
export interface Credit {
  /** Unique: `telegram_payment_charge_id` for Stars, `refund:<charge>` for a refund, a fresh id for a grant. */
  readonly id: string
  readonly userId: TelegramId
  readonly kind: CreditKind
  /** Negative for a refund. */
  readonly tokens: number
  readonly stars: number
  readonly at: number
}

/** What a user spent and bought, as budgets need it. */
export interface UserTotals {
  /** Tokens (prompt + completion) since `dayStart`. */
  readonly today: number
  /** Tokens since `monthStart`. */
  readonly thisMonth: number
  /** Tokens ever credited (refunds subtracted). */
  readonly credited: number
  /** Tokens ever paid from credits. */
  readonly paid: number
}

/** Totals of one user and model, for reports. */
export interface UsageTotals {
  readonly userId: TelegramId
  readonly model: string
  readonly turns: number
  readonly promptTokens: number
  readonly cachedPromptTokens: number
  readonly completionTokens: number
  readonly reasoningTokens: number
}

export interface UsageLedgerService {
  /**
   * Writes the turn's entries, then `alongside` (the turn's reply). An entry already stored
   * (same chat, update, step, model) is kept.
   */
  readonly recordTurn: (
    entries: ReadonlyArray<UsageEntry>,
    alongside: Effect.Effect<void, StoreError>
  ) => Effect.Effect<void, StoreError>
  /** A user's tokens since the start of the day and of the month (epoch ms), and credits. */
  readonly userTotals: (userId: TelegramId, dayStart: number, monthStart: number) => Effect.Effect<UserTotals, StoreError>
  /** Inserts a credit unless one with its id exists; true when it was inserted now. */
  readonly credit: (credit: Credit) => Effect.Effect<boolean, StoreError>
  /** The credit with an id, if any. */
  readonly creditOf: (id: string) => Effect.Effect<Option.Option<Credit>, StoreError>
  /** Totals per user and model of the entries since `since` (epoch ms). */
  readonly totals: (since: number) => Effect.Effect<ReadonlyArray<UsageTotals>, StoreError>
  /** Credits since `since`, oldest first. */
  readonly credits: (since: number) => Effect.Effect<ReadonlyArray<Credit>, StoreError>
}

export class UsageLedger extends Context.Tag("dialog-bot/UsageLedger")<UsageLedger, UsageLedgerService>() {}

/** The tokens an entry counts against a budget: prompt and completion (cached and reasoning are part of them). */
export const entryTokens = (entry: Pick<UsageEntry, "promptTokens" | "completionTokens">): number =>
  entry.promptTokens + entry.completionTokens

/** One call of a turn as the model layer counts it (`CallUsage` of `llm/TurnUsage.ts`). */
export interface TurnCall {
  readonly stage: string
  readonly model: string
  readonly usage: {
    readonly promptTokens: number
    readonly cachedPromptTokens: number
    readonly completionTokens: number
    readonly reasoningTokens: number
  }
}

/**
 * A turn's calls as ledger entries: one per step and model, the tokens added up, and `paid`
 * tokens (beyond the free allowance) laid on them in order.
 */
export const turnEntries = (
  turn: { readonly userId: TelegramId; readonly chatId: TelegramId; readonly threadId?: number | undefined; readonly updateId: TelegramId; readonly at: number },
  calls: ReadonlyArray<TurnCall>,
  paid: number
): ReadonlyArray<UsageEntry> => {
  const byKey = new Map<string, UsageEntry>()
  for (const call of calls) {
    const key = `${call.stage}\u0000${call.model}`
    const known = byKey.get(key)
    byKey.set(key, {
      ...turn,
      stage: call.stage,
      model: call.model,
      promptTokens: (known?.promptTokens ?? 0) + call.usage.promptTokens,
      cachedPromptTokens: (known?.cachedPromptTokens ?? 0) + call.usage.cachedPromptTokens,
      completionTokens: (known?.completionTokens ?? 0) + call.usage.completionTokens,
      reasoningTokens: (known?.reasoningTokens ?? 0) + call.usage.reasoningTokens,
      paidTokens: 0
    })
  }
  let left = paid
  return [...byKey.values()].map((entry) => {
    const paidTokens = Math.min(left, entryTokens(entry))
    left -= paidTokens
    return { ...entry, paidTokens }
  })
}
