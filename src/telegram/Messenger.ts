/**
 * Sending replies: splitting long texts, the retry policy of every send (the one place for
 * it), blocked users, the optional proactive throttle and the `typing` indicator.
 *
 * Delivery after a crash: the Bot API has no idempotency key, so a message whose request
 * reached Telegram just before the process died cannot be told apart from one that did not.
 * Each message sent for a dispatched update is therefore recorded in the inbox right after
 * Telegram accepts it (`Inbox.markDelivered`), and a re-run of the update skips the messages
 * recorded. The request and its record hold one of `sendsInDoubt` slots (1 by default), so a
 * crash leaves at most that many messages in doubt: those are sent again.
 */
import {
  Clock,
  Context,
  Duration,
  Effect,
  ExecutionStrategy,
  Exit,
  Fiber,
  FiberRef,
  Layer,
  Metric,
  Option,
  RateLimiter,
  Schedule,
  ScheduleDecision,
  Schema,
  Scope
} from "effect"
import { SendConfig } from "./SendConfig.ts"
import { CurrentDelivery, CurrentUpdateId, type Delivery } from "../domain/CurrentUpdate.ts"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"
import { countRetry, messagesNotResent } from "../observability/Metrics.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { Inbox } from "../store/Inbox.ts"
import { splitText } from "./splitText.ts"
import { type ParseMode, TelegramApi, type TelegramApiError, type TelegramError } from "./TelegramApi.ts"
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
  /** Sends a text, split into parts if long, parts in order; returns how many parts were sent. */
  readonly reply: (chatId: TelegramId, text: string, options?: ReplyOptions) => Effect.Effect<number, SendError>
  /** Runs `effect` while showing `typing` in the chat; a failing indicator never fails `effect`. */
  readonly whileTyping: <A, E, R>(chatId: TelegramId, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export class Messenger extends Context.Tag("dialog-bot/Messenger")<Messenger, MessengerService>() {}

const isBlockedError = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 403

const isParseEntitiesError = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 400 && /can't parse entities/i.test(error.description)

const retryAfter = (error: TelegramError): Duration.Duration =>
  Duration.seconds(error._tag === "TelegramApiError" ? error.retryAfter ?? 1 : 0)

/** Whether a failed call may be repeated: 429, 5xx, or no answer at all. */
export const isRetryable = (error: TelegramError): boolean =>
  error._tag === "TelegramTransportError" || error.errorCode === 429 || error.errorCode >= 500

/** Longest single backoff delay after a 5xx or a connection error. */
const maxBackoff = Duration.seconds(20)

/** Longest wait for the record of a sent message, while its send holds an in-doubt slot. */
const recordTimeout = Duration.seconds(2)

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

/** Per-chat limiters kept before idle ones are closed. */
const chatLimiterSoftCap = 1024

export const makeMessenger = Effect.gen(function*() {
  const api = yield* TelegramApi
  const clients = yield* ClientStore
  const inbox = yield* Inbox
  const config = yield* SendConfig
  const inDoubt = yield* Effect.makeSemaphore(config.sendsInDoubt)

  /**
   * The retry policy of every send: a 429 waits its `retry_after` (up to the cap; a longer
   * wait is not retried), a 5xx or a connection error backs off exponentially with jitter
   * (each delay at most `maxBackoff`), any other error is final. At most `maxRetries` retries.
   */
  const retryPolicy = Schedule.exponential(config.backoffBase, 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((delay) => Duration.min(delay, maxBackoff)),
    Schedule.intersect(Schedule.recurs(config.maxRetries)),
    Schedule.zipRight(Schedule.identity<TelegramError>()),
    Schedule.whileInput((error: TelegramError) =>
      isRetryable(error) && Duration.lessThanOrEqualTo(retryAfter(error), config.retryAfterCap)
    ),
    Schedule.modifyDelay((error, delay) =>
      error._tag === "TelegramApiError" && error.errorCode === 429 ? retryAfter(error) : delay
    ),
    Schedule.tapOutput((error) => Effect.logDebug(`send failed, retrying: ${error.message}`)),
    Schedule.onDecision((_, decision) => (ScheduleDecision.isContinue(decision) ? countRetry("telegram_send") : Effect.void))
  )
  const retrying = <A>(effect: Effect.Effect<A, TelegramError>) =>
    Effect.retry(effect, retryPolicy).pipe(
      Effect.tapError((e) =>
        (isRetryable(e) ? Effect.logWarning(`send failed, giving up: ${e.message}`) : Effect.logDebug(`send refused: ${e.message}`))
          .pipe(Effect.annotateLogs("telegram_method", e.method))
      )
    )

  const scope = yield* Effect.scope
  const globalLimiter = config.throttle
    ? Option.some(yield* RateLimiter.make({ limit: 30, interval: "1 second", algorithm: "token-bucket" }))
    : Option.none()

  /**
   * Per-chat limiters: about one message a second with a burst of three. Each lives in its own
   * scope; one idle longer than its window is as good as a new one, so such limiters are
   * closed when the map grows, which keeps memory bounded by the chats active lately.
   */
  interface ChatLimiter {
    readonly limiter: RateLimiter.RateLimiter
    readonly scope: Scope.CloseableScope
    users: number
    lastUsed: number
  }
  const perChat = new Map<number, ChatLimiter>()
  const chatWindow = Duration.seconds(3)
  const evictIdle = (now: number) =>
    Effect.forEach(
      [...perChat.entries()].filter(([, entry]) =>
        entry.users === 0 && now - entry.lastUsed > Duration.toMillis(chatWindow)
      ),
      ([chatId, entry]) => Effect.zipRight(Effect.sync(() => perChat.delete(chatId)), Scope.close(entry.scope, Exit.void)),
      { discard: true }
    )
  const acquireChatLimiter = (chatId: TelegramId) =>
    Effect.gen(function*() {
      const now = yield* Clock.currentTimeMillis
      const existing = perChat.get(chatId)
      if (existing) {
        existing.users++
        existing.lastUsed = now
        return existing
      }
      if (perChat.size >= chatLimiterSoftCap) yield* evictIdle(now)
      const limiterScope = yield* Scope.fork(scope, ExecutionStrategy.sequential)
      const limiter = yield* RateLimiter.make({ limit: 3, interval: chatWindow, algorithm: "token-bucket" }).pipe(
        Scope.extend(limiterScope)
      )
      const entry: ChatLimiter = { limiter, scope: limiterScope, users: 1, lastUsed: now }
      perChat.set(chatId, entry)
      return entry
    })
  const releaseChatLimiter = (entry: ChatLimiter) =>
    Effect.flatMap(Clock.currentTimeMillis, (now) =>
      Effect.sync(() => {
        entry.users--
        entry.lastUsed = now
      }))
  const throttled = <A, E>(chatId: TelegramId, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Option.match(globalLimiter, {
      onNone: () => effect,
      onSome: (global) =>
        Effect.acquireUseRelease(
          acquireChatLimiter(chatId),
          (entry) => entry.limiter(global(effect)),
          releaseChatLimiter
        )
    })

  /**
   * One Bot API call that sends a dialog message, then its record: the message is in doubt from
   * the request until the record is written, and holds an `inDoubt` slot meanwhile. A record
   * that fails is logged, never a failed send (the message is out; only a crash before the
   * next record would send it twice).
   */
  const recorded = <A, E>(call: Effect.Effect<A, E>, ledger: Option.Option<Ledger>): Effect.Effect<A, E> =>
    Option.match(ledger, {
      onNone: () => call,
      onSome: ({ updateId, count }) =>
        inDoubt.withPermits(1)(
          Effect.uninterruptibleMask((restore) =>
            Effect.tap(restore(call), () =>
              // On a fiber of its own: interrupting the dialog (a shutdown) waits for the record
              // instead of cutting it (a child fiber would be interrupted with its parent), and
              // the timeout can still end a record that hangs.
              Effect.forkDaemon(Effect.interruptible(Effect.timeout(inbox.markDelivered(updateId, count), recordTimeout))).pipe(
                Effect.flatMap(Fiber.join),
                Effect.catchAll((e) =>
                  Effect.logWarning(`sent message not recorded, a crash now would send it again: ${e.message}`)
                )
              ))
          )
        )
    })

  /** One part, throttled and retried; a formatted part Telegram cannot parse goes again as plain text. */
  const sendOne = (chatId: TelegramId, text: string, parseMode: ParseMode | undefined, ledger: Option.Option<Ledger>) => {
    const send = (target: TelegramId, mode: ParseMode | undefined) =>
      retrying(throttled(target, recorded(api.sendMessage({ chatId: target, text, parseMode: mode }), ledger)))
    return send(chatId, parseMode).pipe(
      Effect.catchIf(
        (e) => parseMode !== undefined && isParseEntitiesError(e),
        (e) =>
          Effect.zipRight(
            Effect.logWarning(`formatted text refused (${e.message}), sending it as plain text`),
            send(chatId, undefined)
          )
      ),
      // A group that became a supergroup: the message goes to the new chat.
      Effect.catchIf(
        (e): e is TelegramApiError => e._tag === "TelegramApiError" && e.migrateToChatId !== undefined,
        (e) =>
          Effect.zipRight(
            Effect.logWarning(`chat ${chatId} migrated to ${e.migrateToChatId}, sending there`),
            send(e.migrateToChatId as TelegramId, parseMode)
          )
      )
    )
  }

  const reply: MessengerService["reply"] = (chatId, text, options) =>
    Effect.gen(function*() {
      // Whether the user blocked the bot is a saving, not a condition of sending: a store that
      // is not answering must not keep an answer (or the apology) from the user.
      const client = yield* clients.get(chatId).pipe(
        Effect.catchAll((e) =>
          Effect.as(Effect.logWarning(`sending without the blocked check, the store is not answering: ${e.message}`), Option.none())
        )
      )
      if (Option.isSome(client) && client.value.blocked) {
        return yield* Effect.fail(new RecipientBlocked({ chatId }))
      }
      const parts = splitText(text)
      const delivery = Option.all({ cell: yield* FiberRef.get(CurrentDelivery), updateId: yield* FiberRef.get(CurrentUpdateId) })
      let skipped = 0
      for (const part of parts) {
        if (Option.isSome(delivery) && alreadyDelivered(delivery.value.cell)) {
          skipped++
          continue
        }
        const ledger = Option.map(delivery, ({ cell, updateId }): Ledger => ({ updateId, count: cell.sent + 1 }))
        yield* sendOne(chatId, part, options?.parseMode, ledger).pipe(
          Effect.catchIf(isBlockedError, () =>
            Effect.zipRight(
              clients.setBlocked(chatId, true).pipe(
                Effect.catchAll((e) => Effect.logWarning(`blocked user not recorded, the store is not answering: ${e.message}`))
              ),
              Effect.fail(new RecipientBlocked({ chatId }))
            ))
        )
        if (Option.isSome(delivery)) delivery.value.cell.sent++
      }
      if (skipped > 0) {
        yield* Metric.incrementBy(messagesNotResent, skipped)
        yield* Effect.logInfo(`${skipped} of ${parts.length} messages delivered before the restart, not sent again`)
      }
      return parts.length
    }).pipe(withSpan("telegram.reply", { attributes: { chat_id: chatId } }))

  const whileTyping: MessengerService["whileTyping"] = (chatId, effect) =>
    Effect.raceFirst(
      effect,
      api.sendChatAction(chatId, "typing").pipe(
        Effect.catchAllCause((cause) => Effect.logDebug("typing indicator failed", cause)),
        Effect.repeat(Schedule.spaced(config.typingInterval)),
        Effect.zipRight(Effect.never)
      )
    )

  return Messenger.of({ reply, whileTyping })
})

export const MessengerLive = Layer.scoped(Messenger, makeMessenger)
