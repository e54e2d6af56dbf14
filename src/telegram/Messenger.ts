/**
 * Sending replies: splitting long texts, blocked users, delivery records and the `typing`
 * indicator. Each part is one `sendMessage` through the call path (`BotApiCall.ts`) with its
 * retry policy and, when `TELEGRAM_THROTTLE` is on, the throttle (`Throttle.ts`).
 *
 * Delivery after a crash: the Bot API has no idempotency key, so a message whose request
 * reached Telegram just before the process died cannot be told apart from one that did not.
 * Each message sent for a dispatched update is therefore recorded in the inbox right after
 * Telegram accepts it (`Inbox.markDelivered`), and a re-run of the update skips the messages
 * recorded. A message's record is written before the chat's next message goes out, so a crash
 * leaves at most one message in doubt per chat that had a send on its way: those are sent
 * again. `TELEGRAM_SENDS_IN_DOUBT` > 0 also caps the messages in doubt across all chats.
 */
import { Cause, Context, Duration, Effect, Fiber, FiberRef, Layer, Metric, Option, Schedule, Schema } from "effect"
import { SendConfig } from "./SendConfig.ts"
import { CurrentDelivery, CurrentUpdateId, type Delivery } from "../domain/CurrentUpdate.ts"
import type { StoreError } from "../domain/errors.ts"
import { type Destination, type To, toDestination } from "../domain/Destination.ts"
import type { TelegramId } from "../domain/Update.ts"
import { messagesNotResent } from "../observability/Metrics.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { Inbox } from "../store/Inbox.ts"
import type { FormattedText } from "./format/FormattedText.ts"
import { splitFormatted } from "./splitText.ts"
import {
  type CallOptions,
  type ParseMode,
  TelegramApi,
  type TelegramApiError,
  type TelegramError,
  TelegramTransportError
} from "./TelegramApi.ts"
import { giveUp, withTimer } from "../effect/awaitWithTimer.ts"
import { Outages } from "../effect/Outages.ts"
import { makeThrottle } from "./Throttle.ts"
import { withSpan } from "../observability/span.ts"

/** The user blocked the bot (or removed it): nothing is sent until they come back. */
export class RecipientBlocked extends Schema.TaggedError<RecipientBlocked>()("RecipientBlocked", {
  chatId: Schema.Number
}) {}

export type SendError = TelegramError | RecipientBlocked | StoreError

export interface ReplyOptions {
  readonly parseMode?: ParseMode | undefined
}

export interface MessengerService {
  /**
   * Sends a text to a chat or a destination (topic, business connection, reply), split into
   * parts if long, parts in order; returns how many parts were sent.
   */
  readonly reply: (to: To, text: string | FormattedText, options?: ReplyOptions) => Effect.Effect<number, SendError>
  /**
   * One Bot API call that delivers the update's next message in place of a `sendMessage` (the
   * final edit of a message streamed into a group): skipped when an earlier run delivered it,
   * recorded once Telegram accepts it, a 403 marks the client blocked. Whether it was made.
   */
  readonly deliver: (to: To, call: (options: CallOptions) => Effect.Effect<void, TelegramError>) => Effect.Effect<boolean, SendError>
  /** Runs `effect` while showing `typing` where the answer goes once it has run `TELEGRAM_TYPING_DELAY`; a failing indicator never fails `effect`. */
  readonly whileTyping: <A, E, R>(to: To, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export class Messenger extends Context.Tag("dialog-bot/Messenger")<Messenger, MessengerService>() {}

const isBlockedError = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 403

const isParseEntitiesError = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 400 && /can't parse entities/i.test(error.description)

/** A refusal of a formatted message that the same text without formatting may not meet. */
const isFormattingRefused = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 400 && /entit|url/i.test(error.description)

/** The Bot API is down (no connection, a 5xx), as opposed to refusing a message: waited out by the turn. */
const isOutage = (error: TelegramError): boolean =>
  error._tag === "TelegramTransportError" || error.errorCode >= 500

/** Longest wait for the record of a sent message, while its send holds an in-doubt slot. */
const recordTimeout = Duration.seconds(2)
const recordTimedOut = () => new Cause.TimeoutException(`no answer within ${Duration.format(recordTimeout)}`)

/** Where the record of a dialog message goes: its update, and the count it brings the update to. */
interface Ledger {
  readonly updateId: TelegramId
  readonly count: number
}

/** Counts a message an earlier run delivered as sent in this run; whether it was one. */
const alreadyDelivered = (cell: Delivery): boolean => {
  if (cell.sent >= cell.deliveredBefore) return false
  cell.sent++
  return true
}

export const makeMessenger = Effect.gen(function*() {
  const api = yield* TelegramApi
  const clients = yield* ClientStore
  const inbox = yield* Inbox
  const config = yield* SendConfig
  // A message the Bot API cannot take now waits for it (its breaker: effect/Breaker.ts).
  const breaker = Option.map(yield* Effect.serviceOption(Outages), (o) => o.telegram)
  const patiently = <A>(method: string, call: Effect.Effect<A, TelegramError>): Effect.Effect<A, TelegramError> =>
    Option.match(breaker, {
      onNone: () => call,
      onSome: (b) =>
        b.guard(call, { isOutage, down: () => new TelegramTransportError({ method, message: "the Bot API is down (waiting for it)" }) })
    })
  // Opt-in: without a global cap, the per-chat order alone bounds what a crash sends twice.
  const inDoubt = config.sendsInDoubt > 0 ? yield* Effect.makeSemaphore(config.sendsInDoubt) : undefined

  const throttle = config.throttle ? yield* makeThrottle : undefined

  /**
   * One attempt of a send of a dialog message, then its record: the message is in doubt from
   * the request until the record is written, and holds an `inDoubt` slot meanwhile when a
   * global cap is set (backoffs and throttle waits are outside: this wraps a single attempt). A record that fails is
   * logged, never a failed send (the message is out; only a crash before the next record
   * would send it twice).
   */
  const recorded = ({ count, updateId }: Ledger) =>
    <A>(call: Effect.Effect<A, TelegramError>): Effect.Effect<A, TelegramError> =>
      inSlot(
        Effect.uninterruptibleMask((restore) =>
          Effect.tap(restore(call), () =>
            // On a fiber of its own: interrupting the dialog (a shutdown) waits for the record
            // instead of cutting it (a child fiber would be interrupted with its parent), and
            // the timer can still end a record that hangs.
            withTimer(Effect.interruptible(inbox.markDelivered(updateId, count)), recordTimeout, giveUp, recordTimedOut, {
              daemon: true
            }).pipe(
              Effect.catchAll((e) =>
                Effect.logWarning(`sent message not recorded, a crash now would send it again: ${e.message}`)
              )
            ))
        )
      )

  /** One global in-doubt slot around `effect` when a cap is set; `effect` itself otherwise. */
  function inSlot<A, E>(effect: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return inDoubt === undefined ? effect : inDoubt.withPermits(1)(effect)
  }

  /** One part, throttled and retried; a formatted part Telegram cannot parse goes again as plain text. */
  const sendOne = (to: Destination, part: FormattedText, parseMode: ParseMode | undefined, ledger: Option.Option<Ledger>) => {
    const options: CallOptions = {
      retry: config,
      throttle,
      attempt: Option.getOrUndefined(Option.map(ledger, recorded))
    }
    const { text } = part
    const entities = part.entities.length > 0 ? part.entities : undefined
    const send = (target: Destination, mode: ParseMode | undefined, formatted = entities) =>
      patiently("sendMessage", api.sendMessage({ ...target, text, parseMode: mode, entities: formatted }, options))
    return send(to, parseMode).pipe(
      Effect.catchIf(
        (e) => entities !== undefined && isFormattingRefused(e),
        (e) =>
          Effect.zipRight(
            Effect.logWarning(`formatting refused (${e.message}), sending the text without it`),
            send(to, undefined, undefined)
          )
      ),
      Effect.catchIf(
        (e) => parseMode !== undefined && isParseEntitiesError(e),
        (e) =>
          Effect.zipRight(
            Effect.logWarning(`formatted text refused (${e.message}), sending it as plain text`),
            send(to, undefined)
          )
      ),
      // A group that became a supergroup: the message goes to the new chat.
      Effect.catchIf(
        (e): e is TelegramApiError => e._tag === "TelegramApiError" && e.migrateToChatId !== undefined,
        (e) =>
          Effect.zipRight(
            Effect.logWarning(`chat ${to.chatId} migrated to ${e.migrateToChatId}, sending there`),
            // A supergroup made from a group has no topics yet: the chat alone.
            send({ chatId: e.migrateToChatId as TelegramId }, parseMode)
          )
      )
    )
  }

  const reply: MessengerService["reply"] = (target, text, options) => {
    const to = toDestination(target)
    const chatId = to.chatId
    return Effect.gen(function*() {
      // Whether the user blocked the bot is a saving, not a condition of sending: a store that
      // is not answering must not keep an answer (or the apology) from the user.
      const current = yield* FiberRef.get(CurrentDelivery)
      // Nothing to check in a group (no user has a negative id), nor where this turn found its
      // user not blocking the bot; Telegram's 403 is the check of last resort.
      const known = chatId < 0 || (Option.isSome(current) && current.value.reachable === chatId)
      const client = known ? Option.none() : yield* clients.get(chatId).pipe(
        Effect.catchAll((e) =>
          Effect.as(Effect.logWarning(`sending without the blocked check, the store is not answering: ${e.message}`), Option.none())
        )
      )
      if (Option.isSome(client) && client.value.blocked) {
        return yield* Effect.fail(new RecipientBlocked({ chatId }))
      }
      const parts = splitFormatted(typeof text === "string" ? { text, entities: [] } : text)
      const delivery = Option.all({ cell: current, updateId: yield* FiberRef.get(CurrentUpdateId) })
      let skipped = 0
      for (const part of parts) {
        if (Option.isSome(delivery) && alreadyDelivered(delivery.value.cell)) {
          skipped++
          continue
        }
        const ledger = Option.map(delivery, ({ cell, updateId }): Ledger => ({ updateId, count: cell.sent + 1 }))
        const sent = yield* sendOne(to, part, options?.parseMode, ledger).pipe(
          Effect.catchIf(isBlockedError, () =>
            Effect.zipRight(
              clients.setBlocked(chatId, true).pipe(
                Effect.catchAll((e) => Effect.logWarning(`blocked user not recorded, the store is not answering: ${e.message}`))
              ),
              Effect.fail(new RecipientBlocked({ chatId }))
            ))
        )
        if (Option.isSome(delivery)) {
          delivery.value.cell.sent++
          delivery.value.cell.messageIds.push(sent.message_id)
        }
      }
      if (skipped > 0) {
        yield* Metric.incrementBy(messagesNotResent, skipped)
        yield* Effect.logInfo(`${skipped} of ${parts.length} messages delivered before the restart, not sent again`)
      }
      return parts.length
    }).pipe(withSpan("telegram.reply", { attributes: { chat_id: chatId } }))
  }

  /** `typing` every `typingInterval`, from `typingDelay` on, until interrupted; a failed one is only logged. */
  const typing = (to: To) => {
    const repeated = api.sendChatAction(to, "typing").pipe(
      Effect.catchAllCause((cause) => Effect.logDebug("typing indicator failed", cause)),
      Effect.repeat(Schedule.spaced(config.typingInterval))
    )
    return Duration.isZero(config.typingDelay) ? repeated : Effect.delay(repeated, config.typingDelay)
  }

  const whileTyping: MessengerService["whileTyping"] = (to, effect) =>
    // Forked interruptible: a fiber forked in the (uninterruptible) acquire would inherit that.
    Effect.acquireUseRelease(Effect.fork(Effect.interruptible(typing(to))), () => effect, Fiber.interrupt)

  const deliver: MessengerService["deliver"] = (target, call) => {
    const to = toDestination(target)
    return Effect.gen(function*() {
      const delivery = Option.all({ cell: yield* FiberRef.get(CurrentDelivery), updateId: yield* FiberRef.get(CurrentUpdateId) })
      if (Option.isSome(delivery) && alreadyDelivered(delivery.value.cell)) return false
      const ledger = Option.map(delivery, ({ cell, updateId }): Ledger => ({ updateId, count: cell.sent + 1 }))
      const options: CallOptions = { retry: config, throttle, attempt: Option.getOrUndefined(Option.map(ledger, recorded)) }
      yield* patiently("deliver", call(options)).pipe(
        Effect.catchIf(isBlockedError, () =>
          Effect.zipRight(
            clients.setBlocked(to.chatId, true).pipe(
              Effect.catchAll((e) => Effect.logWarning(`blocked user not recorded, the store is not answering: ${e.message}`))
            ),
            Effect.fail(new RecipientBlocked({ chatId: to.chatId }))
          ))
      )
      if (Option.isSome(delivery)) delivery.value.cell.sent++
      return true
    })
  }

  return Messenger.of({ reply, whileTyping, deliver })
})

export const MessengerLive = Layer.scoped(Messenger, makeMessenger)
