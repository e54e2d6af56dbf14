/**
 * `/buy` sends the invoice of the Stars pack (and the monthly plan's link, when there is one);
 * `/refund <user_id> <charge_id>`, accepted only in `ADMIN_CHAT_ID`, refunds a Stars payment
 * and takes back what is left of its credit.
 */
import { Effect, Option } from "effect"
import type { TelegramId } from "../domain/Update.ts"
import { makeStars } from "../payments/Stars.ts"
import { adminOnly } from "./adminCommands.ts"
import { CommandFailure, defineCommand } from "./Command.ts"

const failed = (what: string) => (e: { readonly message: string }) => new CommandFailure({ message: `${what}: ${e.message}` })

export const buyCommand = defineCommand({
  name: "buy",
  description: "buy more tokens with Telegram Stars",
  handler: ({ chatId, userId }) =>
    Effect.gen(function*() {
      const stars = yield* makeStars
      if (!stars.enabled) return "Buying tokens is not available here."
      yield* stars.sendInvoice(chatId, userId).pipe(Effect.mapError(failed("The invoice could not be sent")))
      const plan = yield* stars.subscriptionLink(userId).pipe(Effect.mapError(failed("The plan's link could not be made")))
      return Option.match(plan, {
        onNone: () => "Here is your invoice.",
        onSome: (link) => `Here is your invoice. A monthly plan is also available: ${link}`
      })
    })
})

export const refundCommand = defineCommand({
  name: "refund",
  description: "refund a Stars payment (admin chat)",
  adminOnly: true,
  handler: (context) =>
    Effect.gen(function*() {
      yield* adminOnly("refund")(context)
      const [user, charge] = context.args.split(/\s+/)
      const userId = Number(user)
      if (!Number.isSafeInteger(userId) || charge === undefined || charge === "") {
        return yield* new CommandFailure({ message: "Usage: /refund <user_id> <telegram_payment_charge_id>" })
      }
      const stars = yield* makeStars
      const taken = yield* stars.refund(userId as TelegramId, charge).pipe(
        Effect.catchTag("TelegramApiError", "TelegramTransportError", (e) => Effect.fail(failed("Telegram refused the refund")(e)))
      )
      return `Refunded ${charge} to ${userId}; ${taken.toLocaleString("en-US")} tokens taken back.`
    })
})
