/**
 * The monthly plan (`STARS_SUBSCRIPTION`) as each user stands with it, kept in
 * `ConversationState` under `subscription:<user id>` (so in every store, with no table of its
 * own):
 *
 * - `active`: a payment of the plan came (the first, or a renewal: `is_recurring`), or the user
 *   re-enabled a canceled plan; a renewal is expected when the period paid ends
 *   (`subscription_expiration_date`);
 * - `canceled`: the user canceled it; the period paid runs out, and no renewal is expected;
 * - `failed`: the renewal's payment failed; no renewal is expected.
 *
 * Telegram's `subscription` update (Bot API 10.2) sets the state; a payment of the plan makes it
 * active. A state Telegram adds later is kept as it came, and expects no renewal.
 */
import { Effect, Option, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { BotSubscriptionUpdated, SuccessfulPayment, TelegramId } from "../domain/Update.ts"
import { ConversationState, type ConversationStateService } from "../store/ConversationState.ts"

export const SubscriptionRecord = Schema.Struct({
  /** `active`, `canceled`, `failed`, or a state Telegram added later. */
  state: Schema.String,
  /** When the period paid ends (epoch seconds, Telegram's `subscription_expiration_date`), if known. */
  expiresAt: Schema.optional(Schema.Number),
  /** When the state was recorded (epoch milliseconds). */
  at: Schema.Number
})
export type SubscriptionRecord = typeof SubscriptionRecord.Type

const Stored = Schema.parseJson(SubscriptionRecord)
const key = (userId: TelegramId) => `subscription:${userId}`

/** Whether a payment is one of a subscription (its first payment or a renewal). */
export const isSubscriptionPayment = (payment: SuccessfulPayment): boolean =>
  payment.is_recurring === true || payment.is_first_recurring === true || payment.subscription_expiration_date !== undefined

/** Whether the plan will renew by itself: only an active one does. */
export const renewalExpected = (record: SubscriptionRecord): boolean => record.state === "active"

const day = (epochSeconds: number) => new Date(epochSeconds * 1000).toISOString().slice(0, 10)

/** The plan's line in `/usage`. */
export const subscriptionText = (record: SubscriptionRecord): string => {
  const until = record.expiresAt === undefined ? "" : ` until ${day(record.expiresAt)}`
  switch (record.state) {
    case "active":
      return record.expiresAt === undefined ? "Monthly plan: active" : `Monthly plan: active, renews on ${day(record.expiresAt)}`
    case "canceled":
      return `Monthly plan: canceled, no renewal${until === "" ? "" : ` (paid${until})`}`
    case "failed":
      return "Monthly plan: the renewal's payment failed, no renewal (send /buy for a new plan)"
    default:
      return `Monthly plan: ${record.state}`
  }
}

export interface Subscriptions {
  /** The user's plan, if they ever had one. */
  readonly get: (userId: TelegramId) => Effect.Effect<Option.Option<SubscriptionRecord>, StoreError>
  /** A payment of the plan: active, until its expiration date. */
  readonly paid: (userId: TelegramId, payment: SuccessfulPayment, at: number) => Effect.Effect<void, StoreError>
  /** Telegram's `subscription` update: its state, the period paid kept. */
  readonly updated: (update: BotSubscriptionUpdated, at: number) => Effect.Effect<SubscriptionRecord, StoreError>
}

export const makeSubscriptions = (state: ConversationStateService): Subscriptions => {
  const get = (userId: TelegramId) => Effect.map(state.get(key(userId)), Option.flatMap(Schema.decodeUnknownOption(Stored)))
  const put = (userId: TelegramId, record: SubscriptionRecord) => state.put(key(userId), Schema.encodeSync(Stored)(record))
  return {
    get,
    paid: (userId, payment, at) =>
      put(userId, {
        state: "active",
        ...(payment.subscription_expiration_date === undefined ? {} : { expiresAt: payment.subscription_expiration_date }),
        at
      }),
    updated: (update, at) =>
      Effect.gen(function*() {
        const before = yield* get(update.user.id)
        const expiresAt = Option.getOrUndefined(Option.flatMapNullable(before, (r) => r.expiresAt))
        const record: SubscriptionRecord = { state: update.state, ...(expiresAt === undefined ? {} : { expiresAt }), at }
        yield* put(update.user.id, record)
        return record
      })
  }
}

/** The subscriptions over the `ConversationState` of the context. */
export const subscriptionsOfContext = Effect.map(ConversationState, makeSubscriptions)
