/**
 * What stands between a user's message and the model, apart from the dialog itself: who may reach
 * it at all (`AccessGate.ts`: bans, `ALLOWED_USERS`), whether the user's budget allows another
 * turn (`BudgetGate.ts`, with the Stars invoice beside the over-budget notice), and the payment
 * updates that never reach it (pre-checkout, a successful or refunded payment: `payments/Stars.ts`;
 * a change of a user's monthly plan: `payments/Subscriptions.ts`). The pipeline asks it before a
 * dialog and hands it the payment updates.
 */
import { Clock, Effect, Either, Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { destinationOf, type To } from "../domain/Destination.ts"
import type { BotSubscriptionUpdated, Message, PreCheckoutQuery, TelegramId } from "../domain/Update.ts"
import { makeStars } from "../payments/Stars.ts"
import { isSubscriptionPayment, renewalExpected, subscriptionsOfContext } from "../payments/Subscriptions.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import type { SendError } from "../telegram/Messenger.ts"
import type { Standing } from "../usage/Budget.ts"
import { makeAccessGate } from "./AccessGate.ts"
import { makeBudgetGate } from "./BudgetGate.ts"

/** Sends a fixed text as the answer to the update being handled. */
export type Answer = (to: To, text: string) => Effect.Effect<void, SendError>

/** Why a message got a notice instead of a dialog. */
export type Refusal = "over-budget" | "banned" | "not-allowed"

export const makeAdmission = Effect.gen(function*() {
  const profile = yield* BotProfile
  const budget = yield* makeBudgetGate
  const access = yield* makeAccessGate(budget.isAdmin)
  const stars = yield* makeStars
  const subscriptions = yield* subscriptionsOfContext

  /**
   * The user's standing before a dialog, or why the message got a notice instead: a banned or
   * not allowed user's notice (once), or the over-budget notice.
   */
  const admitted = (
    answer: Answer,
    to: To,
    userId: TelegramId,
    chatId: TelegramId
  ): Effect.Effect<Either.Either<Option.Option<Standing>, Refusal>, StoreError | SendError> =>
    Effect.gen(function*() {
      const gate = yield* access.check(userId, chatId)
      if (gate._tag === "Refused") {
        if (Option.isSome(gate.notice)) yield* answer(to, gate.notice.value)
        return Either.left(gate.reason)
      }
      const standing = yield* budget.check(userId, chatId)
      if (Option.isNone(standing) || !standing.value.over) return Either.right(standing)
      yield* answer(to, budget.overBudget(standing.value, stars.enabled, yield* userTexts(profile)))
      // With Stars on, the invoice comes with the notice.
      yield* stars.sendInvoice(chatId, userId).pipe(
        Effect.catchAll((e) => Effect.logWarning(`the invoice was not sent: ${e.message}`))
      )
      return Either.left<Refusal>("over-budget")
    })

  /** A payment message (successful or refunded) handled, with what became of it; none for other messages. */
  const payment = (
    answer: Answer,
    message: Message,
    userId: TelegramId
  ): Option.Option<Effect.Effect<string, StoreError | SendError>> => {
    const paid = message.successful_payment
    if (paid !== undefined) {
      return Option.some(Effect.gen(function*() {
        // Credited once per charge id (the ledger's key); a second delivery thanks again, never credits again.
        const credited = yield* stars.credit(userId, paid)
        // A payment of the monthly plan (the first or a renewal): the plan is active until its period ends.
        if (isSubscriptionPayment(paid)) yield* subscriptions.paid(userId, paid, yield* Clock.currentTimeMillis)
        const tokens = Option.getOrElse(Option.map(stars.tokensOf(paid.invoice_payload), (n) => n.toLocaleString("en-US")), () => "0")
        yield* answer(destinationOf(message), (yield* userTexts(profile)).paymentThanks.replaceAll("{tokens}", tokens))
        return credited ? "payment credited" : "payment credited before"
      }))
    }
    const refunded = message.refunded_payment
    if (refunded !== undefined) {
      return Option.some(Effect.map(stars.refunded(refunded), (taken) => `payment refunded: ${taken} tokens taken back`))
    }
    return Option.none()
  }

  /** Answers a pre-checkout query; what became of it. */
  const preCheckout = (query: PreCheckoutQuery): Effect.Effect<string, StoreError> =>
    stars.preCheckout(query).pipe(
      Effect.map((ok) => ok ? "pre_checkout_query accepted" : "pre_checkout_query refused"),
      Effect.catchTag("TelegramApiError", "TelegramTransportError", (e) =>
        Effect.as(Effect.logWarning(`answerPreCheckoutQuery failed: ${e.message}`), "pre_checkout_query unanswered"))
    )

  /** A change of a user's monthly plan (`canceled`, `active`, `failed`) kept; what became of it. */
  const subscription = (update: BotSubscriptionUpdated): Effect.Effect<string, StoreError> =>
    Effect.flatMap(Clock.currentTimeMillis, (at) =>
      Effect.map(subscriptions.updated(update, at), (record) =>
        `subscription ${record.state}${renewalExpected(record) ? "" : ": no renewal expected"}`))

  return { admitted, payment, preCheckout, subscription, afterTurn: budget.afterTurn } as const
})

/** The admission as the pipeline and its routes share it (one per pipeline). */
export type Admission = Effect.Effect.Success<typeof makeAdmission>
