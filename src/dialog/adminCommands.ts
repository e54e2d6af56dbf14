/**
 * Admin commands, accepted only in `ADMIN_CHAT_ID`: `/stats` (active users today and this
 * month, turns, tokens and cost per model, the top users by cost, Stars received this month),
 * `/grant <user_id> <tokens>` (tokens added to what the user bought), `/ban <user_id> [reason]`
 * and `/unban <user_id>` (kept by `AccessGate.ts`). Costs use the profile's price table.
 */
import { randomUUID } from "node:crypto"
import { Clock, Effect, Option } from "effect"
import type { TelegramId } from "../domain/Update.ts"
import { BotProfile, costOf, type ModelPrice, priceOf } from "../profile/BotProfile.ts"
import { HandoffConfig } from "../handoff/HandoffConfig.ts"
import { dayStart, monthStart } from "../usage/Budget.ts"
import { type Credit, UsageLedger, type UsageTotals } from "../usage/UsageLedger.ts"
import { bansOfContext } from "./AccessGate.ts"
import { type CommandContext, CommandFailure, defineCommand } from "./Command.ts"

/** Fails the command unless it was written in the admin chat. */
export const adminOnly = (name: string) => ({ chatId }: CommandContext) =>
  Effect.flatMap(HandoffConfig, (handoff) =>
    Option.isSome(handoff.adminChatId) && handoff.adminChatId.value === chatId
      ? Effect.void
      : Effect.fail(new CommandFailure({ message: `/${name} is accepted in the admin chat only.` })))

const n = (x: number) => x.toLocaleString("en-US")
const usd = (x: number) => `$${x.toFixed(4)}`

/** The `/stats` text from the month's totals, today's and the month's credits. */
export const statsText = (
  prices: Readonly<Record<string, ModelPrice>> | undefined,
  month: ReadonlyArray<UsageTotals>,
  today: ReadonlyArray<UsageTotals>,
  credits: ReadonlyArray<Credit>
): string => {
  const cost = (t: UsageTotals) => costOf(priceOf(prices, t.model), t)
  const byModel = new Map<string, { tokens: number; cost: number; turns: number }>()
  const byUser = new Map<number, number>()
  for (const t of month) {
    const m = byModel.get(t.model) ?? { tokens: 0, cost: 0, turns: 0 }
    byModel.set(t.model, { tokens: m.tokens + t.promptTokens + t.completionTokens, cost: m.cost + cost(t), turns: m.turns + t.turns })
    byUser.set(t.userId, (byUser.get(t.userId) ?? 0) + cost(t))
  }
  const starsIn = credits.filter((c) => c.kind === "stars" || c.kind === "subscription" || c.kind === "refund")
    .reduce((sum, c) => sum + c.stars, 0)
  const top = [...byUser.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)
  return [
    "Stats (UTC)",
    `Active users: ${new Set(today.map((t) => t.userId)).size} today, ${byUser.size} this month`,
    ...[...byModel.entries()].map(([model, m]) => `${model}: ${n(m.turns)} turns, ${n(m.tokens)} tokens, ${usd(m.cost)}`),
    `Top users by cost: ${top.length === 0 ? "none" : top.map(([user, c]) => `${user} ${usd(c)}`).join(", ")}`,
    `Stars received this month: ${n(starsIn)}`
  ].join("\n")
}

export const statsCommand = defineCommand({
  name: "stats",
  description: "usage and payments (admin chat)",
  adminOnly: true,
  handler: (context) =>
    Effect.gen(function*() {
      yield* adminOnly("stats")(context)
      const ledger = yield* UsageLedger
      const profile = yield* BotProfile
      const now = yield* Clock.currentTimeMillis
      const [month, today, credits] = yield* Effect.all([
        ledger.totals(monthStart(now)),
        ledger.totals(dayStart(now)),
        ledger.credits(monthStart(now))
      ])
      return statsText(profile.prices, month, today, credits)
    })
})

export const grantCommand = defineCommand({
  name: "grant",
  description: "give a user tokens (admin chat)",
  adminOnly: true,
  handler: (context) =>
    Effect.gen(function*() {
      yield* adminOnly("grant")(context)
      const [user, amount] = context.args.split(/\s+/).map(Number)
      if (!Number.isSafeInteger(user) || !Number.isSafeInteger(amount) || amount === undefined || amount <= 0) {
        return yield* new CommandFailure({ message: "Usage: /grant <user_id> <tokens>" })
      }
      const ledger = yield* UsageLedger
      yield* ledger.credit({
        id: `grant:${randomUUID()}`,
        userId: user as TelegramId,
        kind: "grant",
        tokens: amount,
        stars: 0,
        at: yield* Clock.currentTimeMillis
      })
      return `Granted ${n(amount)} tokens to ${user}.`
    })
})

export const banCommand = defineCommand({
  name: "ban",
  description: "stop answering a user (admin chat)",
  adminOnly: true,
  handler: (context) =>
    Effect.gen(function*() {
      yield* adminOnly("ban")(context)
      const [first = "", ...rest] = context.args.split(/\s+/)
      const user = Number(first)
      if (first === "" || !Number.isSafeInteger(user)) return yield* new CommandFailure({ message: "Usage: /ban <user_id> [reason]" })
      const bans = yield* bansOfContext
      yield* bans.ban({ userId: user as TelegramId, reason: rest.join(" "), at: yield* Clock.currentTimeMillis, by: context.userId })
      return `Banned ${user}: their messages are not answered.`
    })
})

export const unbanCommand = defineCommand({
  name: "unban",
  description: "answer a banned user again (admin chat)",
  adminOnly: true,
  handler: (context) =>
    Effect.gen(function*() {
      yield* adminOnly("unban")(context)
      const user = Number(context.args)
      if (context.args === "" || !Number.isSafeInteger(user)) return yield* new CommandFailure({ message: "Usage: /unban <user_id>" })
      const bans = yield* bansOfContext
      return (yield* bans.unban(user as TelegramId)) ? `Unbanned ${user}.` : `${user} was not banned.`
    })
})
