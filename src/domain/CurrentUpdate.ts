/** The update a fiber is working on: set by the dispatcher, read by whoever records what the bot sent. */
import { Effect, FiberRef, Option } from "effect"
import type { TelegramId } from "./Update.ts"

export const CurrentUpdateId: FiberRef.FiberRef<Option.Option<TelegramId>> = FiberRef.unsafeMake(
  Option.none<TelegramId>()
)

/**
 * The delivery state of the current update. The dispatcher sets a cell per update; the
 * pipeline marks it committed just before it sends the answer, and the messenger counts each
 * message it sends (the inbox keeps the count, see `Inbox.markDelivered`).
 *
 * Once committed, the update's deadline no longer cuts the dialog short: an interrupted send
 * may have reached the user already, and an apology after it would be a second message.
 */
export interface Delivery {
  committed: boolean
  /** Messages of this update sent (or skipped as delivered before) in this run, in order. */
  sent: number
  /** Messages an earlier run (or attempt) delivered: this one skips as many. */
  deliveredBefore: number
  /** Telegram's ids of the messages sent in this run, in order (a reaction on one is feedback on it). */
  messageIds: Array<number>
  /**
   * The private chat whose user this turn found not blocking the bot (the pipeline read them at
   * its start): the messenger's blocked check before a reply there has nothing to add.
   */
  reachable?: TelegramId | undefined
  /**
   * The update was recorded in the inbox by this intake just now, and no attempt has run yet: no
   * earlier run can have stored a reply to send again. The pipeline's first look takes it.
   */
  fresh?: boolean | undefined
}

export const CurrentDelivery: FiberRef.FiberRef<Option.Option<Delivery>> = FiberRef.unsafeMake(
  Option.none<Delivery>()
)

/** Notes that the current update's user (`chatId`, their private chat) does not block the bot. */
export const markReachable = (chatId: TelegramId): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    const cell = fiber.getFiberRef(CurrentDelivery)
    if (Option.isSome(cell)) cell.value.reachable = chatId
    return Effect.void
  })

/** Whether the current update is fresh (see `Delivery.fresh`); a second look, or a retry, finds it is not. */
export const takeFresh: Effect.Effect<boolean> = Effect.withFiberRuntime((fiber) => {
  const cell = fiber.getFiberRef(CurrentDelivery)
  if (Option.isNone(cell) || cell.value.fresh !== true) return Effect.succeed(false)
  cell.value.fresh = false
  return Effect.succeed(true)
})

/** A new cell for an update an earlier run delivered `deliveredBefore` messages of. */
export const makeDelivery = (deliveredBefore: number): Delivery => ({ committed: false, sent: 0, deliveredBefore, messageIds: [] })

/**
 * Starts another attempt of the same update in this run (after a store error): what the
 * earlier attempts delivered is not sent again.
 */
export const restartDelivery = (cell: Delivery): void => {
  cell.deliveredBefore = Math.max(cell.deliveredBefore, cell.sent)
  cell.sent = 0
}

/** Marks the current update's answer as going out (nothing outside a dispatched update). */
export const commitAnswer: Effect.Effect<void> = Effect.flatMap(FiberRef.get(CurrentDelivery), (cell) =>
  Effect.sync(() => {
    if (Option.isSome(cell)) cell.value.committed = true
  }))
