/**
 * The budget at the door of the dialog: before a message goes to the model, where its user
 * stands (`usage/Budget.ts`, from the ledger and the clock); after the turn, what it paid from
 * bought tokens and whether it earns the one warning. Without limits set nothing is read.
 * `BUDGET_EXEMPT_USERS` and the members of `ADMIN_CHAT_ID` have no budget; membership is asked
 * of the Bot API (`getChatMember`) only for a user who would be refused, and remembered.
 */
import { Clock, Effect, Option, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"
import { BotProfile, type ProfileTexts } from "../profile/BotProfile.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { HandoffConfig } from "../handoff/HandoffConfig.ts"
import {
  type BudgetLimits,
  crossesWarning,
  dayStart,
  hasLimits,
  monthStart,
  paidFor,
  renewalText,
  type Standing,
  standingOf
} from "../usage/Budget.ts"
import { UsageConfig } from "../usage/UsageConfig.ts"
import { UsageLedger } from "../usage/UsageLedger.ts"

const ChatMember = Schema.Struct({ status: Schema.String })
const memberStatuses = new Set(["creator", "administrator", "member", "restricted"])

export const makeBudgetGate = Effect.gen(function*() {
  const config = yield* UsageConfig
  const handoff = yield* HandoffConfig
  const ledger = yield* UsageLedger
  const profile = yield* BotProfile
  const api = yield* TelegramApi
  const limits: BudgetLimits = { tokensPerDay: config.tokensPerDay, tokensPerMonth: config.tokensPerMonth }
  const limited = hasLimits(limits)
  const exempt = new Set(config.exemptUsers)
  const admins = new Map<number, boolean>()

  /** Whether a user is a member of the admin chat (asked once per user and process). */
  const isAdmin = (userId: TelegramId, chatId: TelegramId): Effect.Effect<boolean> =>
    Option.match(handoff.adminChatId, {
      onNone: () => Effect.succeed(false),
      onSome: (admin) => {
        if (chatId === admin) return Effect.succeed(true)
        const known = admins.get(userId)
        if (known !== undefined) return Effect.succeed(known)
        return api.call("getChatMember", { chat_id: admin, user_id: userId }, ChatMember).pipe(
          Effect.map((member) => memberStatuses.has(member.status)),
          Effect.catchAll((e) => Effect.as(Effect.logWarning(`getChatMember in the admin chat failed: ${e.message}`), false)),
          Effect.tap((member) => Effect.sync(() => admins.set(userId, member)))
        )
      }
    })

  /** Where the user stands now; `None` when no budget applies to them. */
  const check = (userId: TelegramId, chatId: TelegramId): Effect.Effect<Option.Option<Standing>, StoreError> =>
    !limited || exempt.has(userId) ? Effect.succeedNone : Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const standing = standingOf(limits, yield* ledger.userTotals(userId, dayStart(now), monthStart(now)), now)
      if (standing.over && (yield* isAdmin(userId, chatId))) return Option.none()
      return Option.some(standing)
    })

  const fill = (text: string, standing: Standing, more: string) =>
    text.replaceAll("{renews}", renewalText(standing.renewsAt)).replaceAll("{more}", more)

  return {
    limits,
    check,
    isAdmin,
    /** The notice of a message refused, in `texts` (the user's language); `{more}` says how to buy more when that is possible. */
    overBudget: (standing: Standing, canBuy: boolean, texts: ProfileTexts) =>
      fill(texts.overBudget, standing, canBuy ? texts.buyHint : ""),
    /** After a turn of `tokens`: what of them was paid from bought tokens, and the warning (in `texts`) if it crossed 80 %. */
    afterTurn: (standing: Option.Option<Standing>, tokens: number, texts: ProfileTexts) =>
      Option.match(standing, {
        onNone: () => ({ paid: 0, warning: Option.none<string>() }),
        onSome: (s) => ({
          paid: paidFor(s, tokens),
          warning: crossesWarning(limits, s, tokens) ? Option.some(fill(texts.budgetWarning, s, "")) : Option.none<string>()
        })
      })
  }
})

export type BudgetGate = Effect.Effect.Success<typeof makeBudgetGate>
