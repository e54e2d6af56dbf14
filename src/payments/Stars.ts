/**
 * Telegram Stars: invoices for the pack (`STARS_PACK`) and the monthly plan
 * (`STARS_SUBSCRIPTION`), the pre-checkout answer, and the credit of a payment.
 *
 * - **Payload.** `v1.<user>.<stars>.<tokens>.<nonce>.<mac>`: it names the user and the pack,
 *   and its HMAC-SHA256 (`PaymentsConfig.payloadSecret`) makes it unforgeable. Pre-checkout refuses a
 *   payload that does not verify, that another user presents, whose price or pack is not the
 *   one on sale, or that was paid already (its `invoice:<nonce>` row is in the ledger).
 * - **Exactly once.** A payment credits by inserting a ledger credit keyed by its
 *   `telegram_payment_charge_id`: the store inserts it or does nothing, so a redelivered update,
 *   a second update with the same charge, a re-run after a crash or a second replica never
 *   credit twice. Renewals of a subscription carry new charge ids and credit again.
 * - **Refunds** (`refundStarPayment`, or a `refunded_payment` message) take back what is left
 *   of that credit, once (`refund:<charge>` is a credit of its own).
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto"
import { Clock, Effect, Option, Redacted, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { PreCheckoutQuery, RefundedPayment, SuccessfulPayment, TelegramId } from "../domain/Update.ts"
import { TelegramApi, type TelegramError } from "../telegram/TelegramApi.ts"
import { UsageLedger } from "../usage/UsageLedger.ts"
import { type Pack, PaymentsConfig } from "./PaymentsConfig.ts"

/** Telegram Stars' currency code. */
export const stars = "XTR"

/** The plan's period: 30 days, the only one Telegram accepts. */
export const subscriptionPeriod = 2_592_000

export interface Payload {
  readonly userId: number
  readonly pack: Pack
  readonly nonce: string
}

const mac = (secret: Redacted.Redacted<string>, body: string) =>
  createHmac("sha256", Redacted.value(secret)).update(body).digest("base64url").slice(0, 32)

/** A signed payload for `userId` buying `pack`. */
export const signPayload = (secret: Redacted.Redacted<string>, userId: number, pack: Pack, nonce = randomBytes(9).toString("base64url")) => {
  const body = `v1.${userId}.${pack.stars}.${pack.tokens}.${nonce}`
  return `${body}.${mac(secret, body)}`
}

/** The payload, if it is one this bot signed. */
export const verifyPayload = (secret: Redacted.Redacted<string>, payload: string): Option.Option<Payload> => {
  const parts = payload.split(".")
  if (parts.length !== 6 || parts[0] !== "v1") return Option.none()
  const body = parts.slice(0, 5).join(".")
  const expected = Buffer.from(mac(secret, body))
  const given = Buffer.from(parts[5] ?? "")
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return Option.none()
  const [userId, starCount, tokens] = [Number(parts[1]), Number(parts[2]), Number(parts[3])]
  return Option.some({ userId, pack: { stars: starCount, tokens }, nonce: parts[4] ?? "" })
}

const samePack = (a: Pack, b: Option.Option<Pack>) => Option.isSome(b) && b.value.stars === a.stars && b.value.tokens === a.tokens

export const makeStars = Effect.gen(function*() {
  const config = yield* PaymentsConfig
  const ledger = yield* UsageLedger
  const api = yield* TelegramApi

  const invoiceFields = (userId: number, pack: Pack, title: string) => ({
    title,
    description: `${pack.tokens.toLocaleString("en-US")} tokens for the bot`,
    payload: signPayload(config.payloadSecret, userId, pack),
    provider_token: "",
    currency: stars,
    prices: [{ label: title, amount: pack.stars }]
  })

  /** Sends the pack's invoice to a chat, for a user; nothing when Stars are off. */
  const sendInvoice = (chatId: TelegramId, userId: TelegramId): Effect.Effect<boolean, TelegramError> =>
    Option.match(config.pack, {
      onNone: () => Effect.succeed(false),
      onSome: (pack) =>
        Effect.as(api.call("sendInvoice", { chat_id: chatId, ...invoiceFields(userId, pack, "Tokens") }, Schema.Unknown), true)
    })

  /** A link to the monthly plan's invoice (`createInvoiceLink` with a 30-day period), if there is a plan. */
  const subscriptionLink = (userId: TelegramId): Effect.Effect<Option.Option<string>, TelegramError> =>
    Option.match(config.subscription, {
      onNone: () => Effect.succeedNone,
      onSome: (plan) =>
        Effect.asSome(api.call(
          "createInvoiceLink",
          { ...invoiceFields(userId, plan, "Monthly tokens"), subscription_period: subscriptionPeriod },
          Schema.String
        ))
    })

  /** Why a pre-checkout is refused, or none when it may go on. */
  const refusal = (query: PreCheckoutQuery): Effect.Effect<Option.Option<string>, StoreError> => {
    const payload = verifyPayload(config.payloadSecret, query.invoice_payload)
    if (Option.isNone(payload)) return Effect.succeed(Option.some("This invoice is not valid."))
    const p = payload.value
    if (p.userId !== query.from.id) return Effect.succeed(Option.some("This invoice was made for someone else."))
    if (query.currency !== stars || query.total_amount !== p.pack.stars) {
      return Effect.succeed(Option.some("The price of this invoice is not right."))
    }
    if (!samePack(p.pack, config.pack) && !samePack(p.pack, config.subscription)) {
      return Effect.succeed(Option.some("This offer has ended: send /buy for the current one."))
    }
    return Effect.map(
      ledger.creditOf(`invoice:${p.nonce}`),
      (paid) => Option.isSome(paid) ? Option.some("This invoice was paid already: send /buy for a new one.") : Option.none()
    )
  }

  /** Answers a pre-checkout query: ok for a valid payload and price, a clear error otherwise. */
  const preCheckout = (query: PreCheckoutQuery): Effect.Effect<boolean, StoreError | TelegramError> =>
    Effect.flatMap(refusal(query), (refused) =>
      Effect.as(
        api.call(
          "answerPreCheckoutQuery",
          Option.match(refused, {
            onNone: () => ({ pre_checkout_query_id: query.id, ok: true }),
            onSome: (error_message) => ({ pre_checkout_query_id: query.id, ok: false, error_message })
          }),
          Schema.Boolean
        ),
        Option.isNone(refused)
      ))

  /** Credits a payment once per charge id; true when credited now. */
  const credit = (userId: TelegramId, payment: SuccessfulPayment): Effect.Effect<boolean, StoreError> =>
    Effect.gen(function*() {
      const payload = verifyPayload(config.payloadSecret, payment.invoice_payload)
      if (Option.isNone(payload) || payment.currency !== stars) {
        yield* Effect.logWarning("a payment with a payload this bot did not sign was not credited")
        return false
      }
      const at = yield* Clock.currentTimeMillis
      const credited = yield* ledger.credit({
        id: payment.telegram_payment_charge_id,
        userId,
        kind: payment.is_recurring === true ? "subscription" : "stars",
        tokens: payload.value.pack.tokens,
        stars: payment.total_amount,
        at
      })
      // The invoice is spent: a second checkout with its payload is refused.
      yield* ledger.credit({ id: `invoice:${payload.value.nonce}`, userId, kind: "stars", tokens: 0, stars: 0, at })
      return credited
    })

  /** Takes back what is left of a charge's credit, once; the tokens taken back. */
  const takeBack = (chargeId: string): Effect.Effect<number, StoreError> =>
    Effect.gen(function*() {
      const original = yield* ledger.creditOf(chargeId)
      if (Option.isNone(original)) return 0
      const at = yield* Clock.currentTimeMillis
      const totals = yield* ledger.userTotals(original.value.userId, at, at)
      const left = Math.max(0, Math.min(original.value.tokens, totals.credited - totals.paid))
      const taken = yield* ledger.credit({
        id: `refund:${chargeId}`,
        userId: original.value.userId,
        kind: "refund",
        tokens: -left,
        stars: -original.value.stars,
        at
      })
      return taken ? left : 0
    })

  /** Refunds a charge with `refundStarPayment`, then takes back its credit. */
  const refund = (userId: TelegramId, chargeId: string): Effect.Effect<number, StoreError | TelegramError> =>
    Effect.zipRight(
      api.call("refundStarPayment", { user_id: userId, telegram_payment_charge_id: chargeId }, Schema.Boolean),
      takeBack(chargeId)
    )

  /** A `refunded_payment` message: the credit taken back, as a refund made here does. */
  const refunded = (payment: RefundedPayment) => takeBack(payment.telegram_payment_charge_id)

  /** The tokens a payload this bot signed buys. */
  const tokensOf = (payload: string): Option.Option<number> => Option.map(verifyPayload(config.payloadSecret, payload), (p) => p.pack.tokens)

  return { enabled: Option.isSome(config.pack), tokensOf, sendInvoice, subscriptionLink, preCheckout, credit, refund, refunded }
})

export type Stars = Effect.Effect.Success<typeof makeStars>
