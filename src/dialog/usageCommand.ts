/**
 * `/usage`: the asker's tokens today and this month, the free allowance left and when it
 * renews, tokens bought and left, and their monthly plan — read from the store, never from the
 * model. In a group only the asker sees it: an ephemeral message in the group (Bot API 10.2),
 * or, where the Bot API server does not know those (`telegram/EphemeralMessages.ts`), a private
 * message and a short note in the group.
 */
import { Clock, Effect, Option } from "effect"
import type { TelegramId } from "../domain/Update.ts"
import { type SubscriptionRecord, subscriptionsOfContext, subscriptionText } from "../payments/Subscriptions.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { EphemeralMessages } from "../telegram/EphemeralMessages.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { type BudgetLimits, dayStart, monthStart, renewalText, standingOf } from "../usage/Budget.ts"
import { UsageConfig } from "../usage/UsageConfig.ts"
import { UsageLedger, type UserTotals } from "../usage/UsageLedger.ts"
import { defineCommand } from "./Command.ts"

const count = (n: number) => n.toLocaleString("en-US")

/** The answer of `/usage` for a user's totals at `now`, with their monthly plan if they have one. */
export const usageText = (
  limits: BudgetLimits,
  totals: UserTotals,
  now: number,
  plan: Option.Option<SubscriptionRecord> = Option.none()
): string => {
  const standing = standingOf(limits, totals, now)
  const allowance = Number.isFinite(standing.freeLeft)
    ? `Free tokens left: ${count(standing.freeLeft)} (renews ${renewalText(standing.renewsAt)})`
    : "Free tokens: no limit"
  return [
    "Your usage",
    `Today: ${count(totals.today)} tokens`,
    `This month: ${count(totals.thisMonth)} tokens`,
    allowance,
    `Bought: ${count(Math.max(0, totals.credited))} tokens, ${count(standing.boughtLeft)} left`,
    ...Option.toArray(Option.map(plan, subscriptionText))
  ].join("\n")
}

/** A user's `/usage` text now (no limit for the exempt). */
export const usageOf = (userId: TelegramId) =>
  Effect.gen(function*() {
    const config = yield* UsageConfig
    const ledger = yield* UsageLedger
    const now = yield* Clock.currentTimeMillis
    const exempt = config.exemptUsers.includes(userId)
    const limits = exempt ? { tokensPerDay: 0, tokensPerMonth: 0 } : config
    const plan = yield* Effect.flatMap(subscriptionsOfContext, (subscriptions) => subscriptions.get(userId))
    return usageText(limits, yield* ledger.userTotals(userId, dayStart(now), monthStart(now)), now, plan)
  })

export const usageCommand = defineCommand({
  name: "usage",
  description: "your tokens and what is left",
  handler: ({ chatId, threadId, userId }) =>
    Effect.gen(function*() {
      const text = yield* usageOf(userId)
      // A private chat's id is its user's: anywhere else the answer goes to the user alone.
      if (chatId === userId) return text
      const ephemeral = yield* EphemeralMessages
      const shown = yield* ephemeral.send({ chatId, threadId, receiverId: userId, text }).pipe(
        Effect.catchAll((e) => Effect.as(Effect.logWarning(`the usage was not shown in the group: ${e.message}`), false))
      )
      // Seen in the group by the asker alone: nothing more to send.
      if (shown) return ""
      const api = yield* TelegramApi
      const texts = yield* Effect.flatMap(BotProfile, userTexts)
      return yield* api.sendMessage({ chatId: userId, text }).pipe(
        Effect.as(texts.usageSentPrivately),
        Effect.catchAll(() => Effect.succeed(texts.usagePrivateFirst))
      )
    })
})
