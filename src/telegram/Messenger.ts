/**
 * Sending replies: splitting long texts, the retry policy of every send (the one place for
 * it), blocked users, the optional proactive throttle and the `typing` indicator.
 */
import { Context, Duration, Effect, Layer, Option, RateLimiter, Schedule, Schema, Scope } from "effect"
import { SendConfig } from "../config.ts"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { splitText } from "./splitText.ts"
import { type ParseMode, TelegramApi, type TelegramError } from "./TelegramApi.ts"

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

export class Messenger extends Context.Tag("Messenger")<Messenger, MessengerService>() {}

const isBlockedError = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 403

const isParseEntitiesError = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 400 && /can't parse entities/i.test(error.description)

const retryAfter = (error: TelegramError): Duration.Duration =>
  Duration.seconds(error._tag === "TelegramApiError" ? error.retryAfter ?? 1 : 0)

/** Whether a failed call may be repeated: 429, 5xx, or no answer at all. */
export const isRetryable = (error: TelegramError): boolean =>
  error._tag === "TelegramTransportError" || error.errorCode === 429 || error.errorCode >= 500

export const makeMessenger = Effect.gen(function*() {
  const api = yield* TelegramApi
  const clients = yield* ClientStore
  const config = yield* SendConfig

  /**
   * The retry policy of every send: a 429 waits its `retry_after` (up to the cap; a longer
   * wait is not retried), a 5xx or a connection error backs off exponentially with jitter,
   * any other error is final. At most `maxRetries` retries.
   */
  const retryPolicy = Schedule.exponential(config.backoffBase, 2).pipe(
    Schedule.jittered,
    Schedule.intersect(Schedule.recurs(config.maxRetries)),
    Schedule.zipRight(Schedule.identity<TelegramError>()),
    Schedule.whileInput((error: TelegramError) =>
      isRetryable(error) && Duration.lessThanOrEqualTo(retryAfter(error), config.retryAfterCap)
    ),
    Schedule.modifyDelay((error, delay) =>
      error._tag === "TelegramApiError" && error.errorCode === 429 ? retryAfter(error) : delay
    )
  )
  const retrying = <A>(effect: Effect.Effect<A, TelegramError>) =>
    Effect.retry(effect, retryPolicy).pipe(Effect.tapError((e) => Effect.logDebug(`send failed: ${e.message}`)))

  const scope = yield* Effect.scope
  const globalLimiter = config.throttle
    ? Option.some(yield* RateLimiter.make({ limit: 30, interval: "1 second", algorithm: "token-bucket" }))
    : Option.none()
  const perChat = new Map<number, RateLimiter.RateLimiter>()
  const chatLimiter = (chatId: TelegramId) =>
    Effect.suspend(() => {
      const existing = perChat.get(chatId)
      if (existing) return Effect.succeed(existing)
      // About one message a second per chat, with a burst of three.
      return RateLimiter.make({ limit: 3, interval: "3 seconds", algorithm: "token-bucket" }).pipe(
        Scope.extend(scope),
        Effect.tap((limiter) => Effect.sync(() => perChat.set(chatId, limiter)))
      )
    })
  const throttled = <A, E>(chatId: TelegramId, effect: Effect.Effect<A, E>): Effect.Effect<A, E> =>
    Option.match(globalLimiter, {
      onNone: () => effect,
      onSome: (global) => Effect.flatMap(chatLimiter(chatId), (limiter) => limiter(global(effect)))
    })

  const sendOne = (chatId: TelegramId, text: string, parseMode: ParseMode | undefined) =>
    throttled(chatId, retrying(api.sendMessage({ chatId, text, parseMode }))).pipe(
      Effect.catchIf(
        (e) => parseMode !== undefined && isParseEntitiesError(e),
        () => retrying(api.sendMessage({ chatId, text }))
      )
    )

  const reply: MessengerService["reply"] = (chatId, text, options) =>
    Effect.gen(function*() {
      const client = yield* clients.get(chatId)
      if (Option.isSome(client) && client.value.blocked) {
        return yield* Effect.fail(new RecipientBlocked({ chatId }))
      }
      const parts = splitText(text)
      for (const part of parts) {
        yield* sendOne(chatId, part, options?.parseMode).pipe(
          Effect.catchIf(isBlockedError, () =>
            Effect.zipRight(clients.setBlocked(chatId, true), Effect.fail(new RecipientBlocked({ chatId }))))
        )
      }
      return parts.length
    }).pipe(Effect.withSpan("telegram.reply", { attributes: { chat_id: chatId } }))

  const whileTyping: MessengerService["whileTyping"] = (chatId, effect) =>
    Effect.raceFirst(
      effect,
      api.sendChatAction(chatId, "typing").pipe(
        Effect.catchAll((e) => Effect.logDebug(`typing indicator failed: ${e._tag}`)),
        Effect.repeat(Schedule.spaced(config.typingInterval)),
        Effect.zipRight(Effect.never)
      )
    )

  return Messenger.of({ reply, whileTyping })
})

export const MessengerLive = Layer.scoped(Messenger, makeMessenger)
