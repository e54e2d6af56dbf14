/**
 * The one path of every Bot API call, after grammY's `ApiClient.callApi` and its transformers.
 * An implementation supplies a `Transport`; `fromTransport` turns it into the `TelegramApi`
 * service, adding what every call needs, written once here. From the outside in:
 *
 * - the retry policy (`retryPolicy`), when the call asks for it (`CallOptions.retry`);
 * - the throttle, when the call asks for it (`CallOptions.throttle`), keyed by its `chat_id`;
 * - the caller's attempt hook (`CallOptions.attempt`), around one attempt;
 * - instrumentation of the attempt: a span `telegram.<method>`, the requests, latency and
 *   failures (by error code) metrics, and the text sent on the caller's span as `reply.text`
 *   when message texts are traced;
 * - the result decoded with the method's schema;
 * - token scrubbing of every error, when the transport's URL carries a secret;
 * - the transport itself, run once per attempt.
 *
 * Span attributes are the method's name only: no parameters, no URL.
 *
 * What a call means stays with its caller: whether it may be repeated and whether it waits
 * for the throttle (the Messenger asks for both for the messages of a dialog, with the
 * settings of `SendConfig`), and what a refusal means (a 403 marks the client blocked, in the
 * Messenger, which has the client store).
 */
import { summarizeParseError } from "../domain/decodeErrors.ts"
import { Duration, Effect, Either, Redacted, Schedule, ScheduleDecision, Schema } from "effect"
import { countRetry, measured, telegramDuration, telegramErrors, telegramRequests, updateMetric, withTags } from "../observability/Metrics.ts"
import { annotatedText } from "../observability/TraceSettings.ts"
import { botApiMethods } from "./BotApiMethods.ts"
import {
  type BotApiCall,
  type BotApiParams,
  type RetrySettings,
  TelegramApi,
  TelegramApiError,
  type TelegramApiService,
  type TelegramError,
  TelegramTransportError,
  type Transport
} from "./TelegramApi.ts"
import { retryLazily } from "../effect/retryLazily.ts"

// ── the retry policy ──────────────────────────────────────────────────────────────────────────

/** Whether a failed call may be repeated: 429, 5xx, or no answer at all. */
export const isRetryable = (error: TelegramError): boolean =>
  error._tag === "TelegramTransportError" || error.errorCode === 429 || error.errorCode >= 500

const retryAfter = (error: TelegramError): Duration.Duration =>
  Duration.seconds(error._tag === "TelegramApiError" ? error.retryAfter ?? 1 : 0)

/** Longest single backoff delay after a 5xx or a connection error. */
const maxBackoff = Duration.seconds(20)

/**
 * The retry policy of Bot API calls: a 429 waits its `retry_after` (up to the cap; a longer
 * wait is not retried), a 5xx or a connection error backs off exponentially with jitter
 * (each delay at most `maxBackoff`), any other error is final. At most `maxRetries` retries.
 */
export const retryPolicy = (settings: RetrySettings) =>
  Schedule.exponential(settings.backoffBase, 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((delay) => Duration.min(delay, maxBackoff)),
    Schedule.intersect(Schedule.recurs(settings.maxRetries)),
    Schedule.zipRight(Schedule.identity<TelegramError>()),
    Schedule.whileInput((error: TelegramError) =>
      isRetryable(error) && Duration.lessThanOrEqualTo(retryAfter(error), settings.retryAfterCap)
    ),
    Schedule.modifyDelay((error, delay) =>
      error._tag === "TelegramApiError" && error.errorCode === 429 ? retryAfter(error) : delay
    ),
    Schedule.tapOutput((error) => Effect.logDebug(`send failed, retrying: ${error.message}`)),
    Schedule.onDecision((_, decision) => (ScheduleDecision.isContinue(decision) ? countRetry("telegram_send") : Effect.void))
  )

const retrying = <A>(settings: RetrySettings, effect: Effect.Effect<A, TelegramError>) =>
  retryLazily(effect, retryPolicy(settings)).pipe(
    Effect.tapError((e) =>
      (isRetryable(e) ? Effect.logWarning(`send failed, giving up: ${e.message}`) : Effect.logDebug(`send refused: ${e.message}`))
        .pipe(Effect.annotateLogs("telegram_method", e.method))
    )
  )

// ── instrumentation, decoding, scrubbing ──────────────────────────────────────────────────────

const errorCode = (error: TelegramError): string =>
  error._tag === "TelegramApiError" ? String(error.errorCode) : "transport"

const instrumented = <A>(method: string, params: BotApiParams, attempt: Effect.Effect<A, TelegramError>) => {
  const tags = { method }
  const call = Effect.zipRight(
    updateMetric(withTags(telegramRequests, tags), 1),
    attempt.pipe(
      measured(withTags(telegramDuration, tags), (error: TelegramError) => withTags(telegramErrors, { method, code: errorCode(error) }), {
        name: `telegram.${method}`,
        options: { kind: "client", attributes: { "telegram.method": method } }
      })
    )
  )
  // On the caller's span (the reply), not the call's: its text is what the user gets.
  const text = params["text"]
  return typeof text === "string" ? annotatedText("reply.text", text, call) : call
}


const decoded = <A, I>(method: string, result: Schema.Schema<A, I>, raw: Effect.Effect<unknown, TelegramError>) => {
  const decode = Schema.decodeUnknownEither(result, { onExcessProperty: "ignore" })
  return Effect.flatMap(raw, (value) =>
    Either.match(decode(value), {
      onLeft: (e) =>
        Effect.fail(
          new TelegramTransportError({
            method,
            message: `unexpected result: ${summarizeParseError(e)}`
          })
        ),
      onRight: Effect.succeed
    }))
}

/**
 * Removes the token (and its secret half, and its URL-encoded form) from a text, and the start
 * of one cut off by an excerpt (followed by `…`).
 */
export const scrubber = (token: Redacted.Redacted<string>) => {
  const value = Redacted.value(token)
  const secretHalf = value.slice(value.indexOf(":") + 1)
  const needles = [value, encodeURIComponent(value), ...(secretHalf.length >= 8 ? [secretHalf] : [])]
  const cut = needles.flatMap((needle) =>
    Array.from({ length: Math.max(0, needle.length - 8) }, (_, i) => `${needle.slice(0, needle.length - 1 - i)}…`)
  )
  const replace = (text: string, needle: string, by: string) => (text.includes(needle) ? text.split(needle).join(by) : text)
  return (text: string): string =>
    cut.reduce(
      (acc, needle) => replace(acc, needle, "<token>…"),
      needles.reduce((acc, needle) => replace(acc, needle, "<token>"), text)
    )
}

/** The same error with the token removed from its texts. */
const scrubError = (scrub: (text: string) => string) => (error: TelegramError): TelegramError =>
  error._tag === "TelegramApiError"
    ? new TelegramApiError({
      method: error.method,
      errorCode: error.errorCode,
      description: scrub(error.description),
      ...(error.retryAfter === undefined ? {} : { retryAfter: error.retryAfter }),
      ...(error.migrateToChatId === undefined ? {} : { migrateToChatId: error.migrateToChatId })
    })
    : new TelegramTransportError({
      method: error.method,
      message: scrub(error.message),
      ...(error.status === undefined ? {} : { status: error.status })
    })

/** The chat a call goes to, for the throttle. */
const chatOf = (params: BotApiParams): string | number | undefined => {
  const chat = params["chat_id"]
  return typeof chat === "number" || typeof chat === "string" ? chat : undefined
}

export interface TransportOptions {
  /** A secret the transport's requests carry (the bot token): removed from every error. */
  readonly secret?: Redacted.Redacted<string> | undefined
}

/** The `TelegramApi` service over a transport: `call` as described above, and the typed methods over it. */
export const fromTransport = (transport: Transport, transportOptions: TransportOptions = {}): TelegramApiService => {
  const scrub = transportOptions.secret === undefined ? undefined : scrubError(scrubber(transportOptions.secret))
  const call: BotApiCall = (method, params, result, options = {}) => {
    const raw = Effect.suspend(() => transport(method, params, options))
    const one = instrumented(method, params, decoded(method, result, scrub === undefined ? raw : Effect.mapError(raw, scrub)))
    const attempt = options.attempt === undefined ? one : options.attempt(one)
    const throttled = options.throttle === undefined ? attempt : options.throttle(chatOf(params), attempt)
    return options.retry === undefined ? throttled : retrying(options.retry, throttled)
  }
  return TelegramApi.of({ call, ...botApiMethods(call) })
}
