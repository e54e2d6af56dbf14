/**
 * What one Bot API call is, seen from both sides: the call the bot makes (`BotApiCall`, with
 * its `CallOptions`), the raw call an implementation supplies (`Transport`), and the two errors
 * both answer. The typed methods (`BotApiMethods.ts`), the call path (`BotApiCall.ts`) and the
 * service (`TelegramApi.ts`) are written over these; none of them is imported here.
 */
import { type Duration, type Effect, Schema } from "effect"
import type { Throttle } from "./Throttle.ts"

/** The Bot API answered `ok: false`. `retryAfter` and `migrateToChatId` come from `parameters`. */
export class TelegramApiError extends Schema.TaggedError<TelegramApiError>()("TelegramApiError", {
  method: Schema.String,
  errorCode: Schema.Number,
  description: Schema.String,
  retryAfter: Schema.optional(Schema.Number),
  migrateToChatId: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `${this.method}: ${this.errorCode} ${this.description}`
  }
}

/** No usable answer: connection failed, timed out, or the body was not the Bot API's JSON. */
export class TelegramTransportError extends Schema.TaggedError<TelegramTransportError>()("TelegramTransportError", {
  method: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number)
}) {}

export type TelegramError = TelegramApiError | TelegramTransportError

/** The parameters of one call, as they go on the wire (snake_case, JSON values). */
export type BotApiParams = Readonly<Record<string, unknown>>

/** Settings of the one retry policy of Bot API calls (`retryPolicy` in `BotApiCall.ts`). */
export interface RetrySettings {
  /** Longest wait honoured from a 429's retry_after; a longer one fails the call. */
  readonly retryAfterCap: Duration.Duration
  /** Retries of one call after 429, 5xx or a connection error. */
  readonly maxRetries: number
  /** First backoff delay after a 5xx or a connection error (doubles, with jitter). */
  readonly backoffBase: Duration.Duration
}

/** How one call is made. Without options a call is one attempt with the transport's timeout. */
export interface CallOptions {
  /** Longest wait for the answer (the transport's request timeout by default). */
  readonly timeout?: Duration.Duration | undefined
  /** The server may hold the answer this long (getUpdates): the wait is this plus the usual one. */
  readonly longPoll?: Duration.Duration | undefined
  /**
   * Repeat a failed attempt with the retry policy of these settings: only for calls that are
   * safe to repeat. No retry when not given.
   */
  readonly retry?: RetrySettings | undefined
  /** Waits for the throttle (keyed by the call's `chat_id`) before each attempt. */
  readonly throttle?: Throttle | undefined
  /**
   * Wraps each single attempt, inside the retry and the throttle: backoffs and throttle waits
   * happen outside it (the Messenger holds an in-doubt slot over one attempt and its record).
   */
  readonly attempt?: (<A>(attempt: Effect.Effect<A, TelegramError>) => Effect.Effect<A, TelegramError>) | undefined
}

/** One Bot API call: `method` with `params`, its `result` decoded with `result`, or a typed error. */
export type BotApiCall = <A, I>(
  method: string,
  params: BotApiParams,
  result: Schema.Schema<A, I>,
  options?: CallOptions
) => Effect.Effect<A, TelegramError>

/**
 * What an implementation supplies: one raw call, answering the `result` of the Bot API's JSON
 * answer as it came, `TelegramApiError` for `ok: false`, `TelegramTransportError` for no answer.
 */
export type Transport = (method: string, params: BotApiParams, options: CallOptions) => Effect.Effect<unknown, TelegramError>

/** The parameters that are given, without the ones left `undefined`. */
export const defined = (params: Record<string, unknown>): BotApiParams =>
  Object.fromEntries(Object.entries(params).filter(([, value]) => value !== undefined))

/** A list, or `undefined` (the parameter left out) when it is empty. */
export const nonEmpty = <A>(items: ReadonlyArray<A> | undefined) => (items === undefined || items.length === 0 ? undefined : items)
