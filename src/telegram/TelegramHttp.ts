/**
 * The Bot API over HTTP: the transport of `TelegramApiHttp` and `TelegramApiLive`.
 *
 * Every call is a POST of a JSON body to `<base>/bot<token>/<method>` on a keep-alive agent.
 * The answer's envelope is decoded with Schema: `{ok: true, result}` gives the result (decoded
 * by the call path with the method's schema), `{ok: false, error_code, description,
 * parameters}` a `TelegramApiError`, and anything else (an HTML error page, an empty body, a
 * broken connection, no answer in time) a `TelegramTransportError`. Interrupting a call aborts
 * its request.
 *
 * The URL carries the token, so nothing derived from it leaves unscrubbed: the HTTP client's
 * own tracing (which records the full URL) is off, the call path's spans are named after the
 * method, and the call path scrubs the token from every error (`fromTransport` with `secret`).
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { keepAliveFetch } from "../http/keepAliveFetch.ts"
import type { HttpClientError } from "@effect/platform"
import { Duration, Effect, Either, Layer, Redacted, Schema } from "effect"
import { fromTransport } from "./BotApiCall.ts"
import { type CallOptions, TelegramApi, TelegramApiError, TelegramTransportError, type Transport } from "./TelegramApi.ts"
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
  // The client's own spans would record the URL, token included: the call path has spans of its own.
  const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
  const base = `${config.apiBaseUrl.replace(/\/+$/, "")}/bot${Redacted.value(config.token)}/`
  // Named in transport errors: which server did not answer (the base URL holds no secret).
  const host = URL.canParse(config.apiBaseUrl) ? new URL(config.apiBaseUrl).host : config.apiBaseUrl

  // Error texts are built as they come: the call path scrubs the token from every error.
  const transportError = (method: string, message: string, status?: number) =>
    new TelegramTransportError({ method, message, ...(status === undefined ? {} : { status }) })

  const fromHttpError = (method: string) => (error: HttpClientError.HttpClientError): TelegramTransportError => {
    const detail = causeText(error.cause) || error.description || ""
    return error._tag === "RequestError"
      ? transportError(method, `request to ${host} failed${detail ? `: ${detail}` : ` (${error.reason})`}`)
      : transportError(
        method,
        `reading the answer of ${host} failed${detail ? `: ${detail}` : ` (${error.reason})`}`,
        error.response.status
      )
  }

  /** The deadline of one call: its own, or the request timeout (plus the long poll, at least `longPollMargin`). */
  const timeoutOf = (options: CallOptions): Duration.Duration =>
    options.timeout ??
      (options.longPoll === undefined
        ? config.requestTimeout
        : Duration.sum(options.longPoll, Duration.max(config.requestTimeout, longPollMargin)))

  const transport: Transport = (method, params, options) => {
    const timeout = timeoutOf(options)
    return Effect.gen(function*() {
      const request = HttpClientRequest.post(`${base}${method}`).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyText(JSON.stringify(params), "application/json")
      )
      const response = yield* client.execute(request)
      const body = yield* response.text
      const envelope = decodeEnvelope(body)
      if (Either.isLeft(envelope)) {
        const kind = body.trim() === "" ? "an empty body" : `not the Bot API's JSON (${excerpt(body, 120)})`
        return yield* Effect.fail(transportError(method, `HTTP ${response.status}: ${kind}`, response.status))
      }
      const answer = envelope.right
      if (!answer.ok) {
        return yield* Effect.fail(
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
      return answer.result
    }).pipe(
      Effect.catchIf(
        (e): e is HttpClientError.HttpClientError => e._tag === "RequestError" || e._tag === "ResponseError",
        (e) => Effect.fail(fromHttpError(method)(e))
      ),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => transportError(method, `no answer from ${host} within ${Duration.format(timeout)}`)
      })
    )
  }
  return fromTransport(transport, { secret: config.token })
})

/**
 * The Bot API client with the HTTP client it needs, settings from `TelegramConfig`: effect's
 * fetch-based HttpClient over keep-alive node:http connections (cheaper per call than both the
 * global fetch and the node client with its stream plumbing — see bench/README.md).
 */
export const TelegramApiHttp: Layer.Layer<TelegramApi, never, TelegramConfig> = Layer.effect(TelegramApi, makeTelegramApi)
  .pipe(
    Layer.provide(FetchHttpClient.layer),
    Layer.provide(Layer.succeed(FetchHttpClient.Fetch, keepAliveFetch))
  )

/** The Bot API client, configured from the environment (`TELEGRAM_BOT_TOKEN`, `TELEGRAM_API_BASE_URL`, …). */
export const TelegramApiLive = TelegramApiHttp.pipe(Layer.provide(TelegramConfig.fromEnv))
