/**
 * The Bot API over HTTP: the transport of `TelegramApiHttp` and `TelegramApiLive`.
 *
 * Every call is a POST of a JSON body to `<base>/bot<token>/<method>`, a plain node:http(s)
 * request on a keep-alive agent: the bot's HTTP client (`src/http/keepAliveRequest.ts`), the
 * one file downloads use too (`src/media/TelegramFiles.ts`).
 * The answer's envelope is decoded with Schema: `{ok: true, result}` gives the result (decoded
 * by the call path with the method's schema), `{ok: false, error_code, description,
 * parameters}` a `TelegramApiError`, and anything else (an HTML error page, an empty body, a
 * broken connection, no answer in time) a `TelegramTransportError`. Interrupting a call aborts
 * its request.
 *
 * The URL carries the token, so nothing derived from it leaves unscrubbed: the request has no
 * span of its own (the call path's spans are named after the method), and the call path scrubs
 * the token from every error (`fromTransport` with `secret`).
 */
import { Duration, Effect, Either, Layer, Redacted, Schema } from "effect"
import { type KeepAliveRequestError, keepAliveRequest, type KeepAliveResponse } from "../http/keepAliveRequest.ts"
import { fromTransport } from "./BotApiCall.ts"
import {
  type CallOptions,
  TelegramApi,
  TelegramApiError,
  type TelegramError,
  TelegramTransportError,
  type Transport
} from "./TelegramApi.ts"
import { TelegramConfig, type TelegramConfigShape } from "./TelegramConfig.ts"

/** What getUpdates waits beyond its long-poll timeout before giving the request up. */
export const longPollMargin: Duration.Duration = Duration.seconds(10)

const ResponseParameters = Schema.Struct({
  retry_after: Schema.optional(Schema.Number),
  migrate_to_chat_id: Schema.optional(Schema.Number)
})

/** The envelope of every Bot API answer. */
const Envelope = Schema.Union(
  Schema.Struct({ ok: Schema.Literal(true), result: Schema.Unknown }),
  Schema.Struct({
    ok: Schema.Literal(false),
    error_code: Schema.Number,
    description: Schema.optionalWith(Schema.String, { default: () => "no description" }),
    parameters: Schema.optional(ResponseParameters)
  })
)
const decodeEnvelope = Schema.decodeUnknownEither(Schema.parseJson(Envelope))

const excerpt = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text)

/**
 * What went wrong, from the outermost cause in: `fetch failed: connect ECONNREFUSED
 * 127.0.0.1:9 (ECONNREFUSED)`, a TLS code such as `CERT_HAS_EXPIRED`, `getaddrinfo ENOTFOUND`.
 */
export const causeText = (cause: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = cause
  for (let depth = 0; current !== undefined && current !== null && depth < 6; depth++) {
    if (!(current instanceof Error)) {
      parts.push(String(current))
      break
    }
    const code = "code" in current && typeof current.code === "string" ? current.code : undefined
    // A connection tried on several addresses fails with an AggregateError without a message.
    const inner = current instanceof AggregateError ? current.errors[0] as unknown : undefined
    const message = current.message || (inner instanceof Error ? inner.message : "")
    const text = code !== undefined && !message.includes(code) ? `${message} (${code})` : message
    if (text !== "" && parts.at(-1) !== text) parts.push(text)
    current = current.cause ?? inner
  }
  return parts.join(": ")
}

export const makeTelegramApi = Effect.gen(function*() {
  const config: TelegramConfigShape = yield* TelegramConfig
  const base = `${config.apiBaseUrl.replace(/\/+$/, "")}/bot${Redacted.value(config.token)}/`
  // Named in transport errors: which server did not answer (the base URL holds no secret).
  const host = URL.canParse(config.apiBaseUrl) ? new URL(config.apiBaseUrl).host : config.apiBaseUrl
  const headers = { "content-type": "application/json", accept: "application/json" }

  // Error texts are built as they come: the call path scrubs the token from every error.
  const transportError = (method: string, message: string, status?: number) =>
    new TelegramTransportError({ method, message, ...(status === undefined ? {} : { status }) })

  const fromRequestError = (method: string, timeout: Duration.Duration) => (error: KeepAliveRequestError): TelegramTransportError => {
    if (error.stage === "timeout") return transportError(method, `no answer from ${host} within ${Duration.format(timeout)}`)
    const detail = causeText(error.cause)
    // No call asks for a size limit (`maxBytes`): "tooLarge" is read as an answer not read.
    return error.stage === "request"
      ? transportError(method, `request to ${host} failed${detail ? `: ${detail}` : ""}`)
      : transportError(method, `reading the answer of ${host} failed${detail ? `: ${detail}` : ""}`, error.status)
  }

  /** The deadline of one call: its own, or the request timeout (plus the long poll, at least `longPollMargin`). */
  const timeoutOf = (options: CallOptions): Duration.Duration =>
    options.timeout ??
      (options.longPoll === undefined
        ? config.requestTimeout
        : Duration.sum(options.longPoll, Duration.max(config.requestTimeout, longPollMargin)))

  /** The answer's envelope: the result, or the Bot API's refusal, or a transport error. */
  const answerOf = (method: string, response: KeepAliveResponse): Effect.Effect<unknown, TelegramError> => {
    const body = response.body.toString("utf8")
    const envelope = decodeEnvelope(body)
    if (Either.isLeft(envelope)) {
      const kind = body.trim() === "" ? "an empty body" : `not the Bot API's JSON (${excerpt(body, 120)})`
      return Effect.fail(transportError(method, `HTTP ${response.status}: ${kind}`, response.status))
    }
    const answer = envelope.right
    if (answer.ok) return Effect.succeed(answer.result)
    return Effect.fail(
      new TelegramApiError({
        method,
        errorCode: answer.error_code,
        description: answer.description,
        ...(answer.parameters?.retry_after === undefined ? {} : { retryAfter: answer.parameters.retry_after }),
        ...(answer.parameters?.migrate_to_chat_id === undefined
          ? {}
          : { migrateToChatId: answer.parameters.migrate_to_chat_id })
      })
    )
  }

  const transport: Transport = (method, params, options) => {
    const timeout = timeoutOf(options)
    return Effect.suspend(() =>
      keepAliveRequest({
        method: "POST",
        url: new URL(`${base}${method}`),
        headers,
        body: JSON.stringify(params),
        timeoutMs: Duration.toMillis(timeout)
      })
    ).pipe(
      Effect.mapError(fromRequestError(method, timeout)),
      Effect.flatMap((response) => answerOf(method, response))
    )
  }
  return fromTransport(transport, { secret: config.token })
})

/**
 * The Bot API client, settings from `TelegramConfig`: plain keep-alive node:http(s) requests
 * (`keepAliveRequest`), cheaper per call than effect's HttpClient over any fetch (bench/README.md).
 */
export const TelegramApiHttp: Layer.Layer<TelegramApi, never, TelegramConfig> = Layer.effect(TelegramApi, makeTelegramApi)

/** The Bot API client, configured from the environment (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_BASE_URL`, …). */
export const TelegramApiLive = TelegramApiHttp.pipe(Layer.provide(TelegramConfig.fromEnv))
