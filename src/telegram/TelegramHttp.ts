/**
 * The Bot API over HTTP: `TelegramApiLive`.
 *
 * Every method is a POST of a JSON body to `<base>/bot<token>/<method>` on a keep-alive
 * agent. The answer is decoded with Schema: `{ok: true, result}` becomes the result,
 * `{ok: false, error_code, description, parameters}` a `TelegramApiError`, and anything else
 * (an HTML error page, an empty body, a broken connection, no answer in time) a
 * `TelegramTransportError`. Interrupting a call aborts its request.
 *
 * The URL carries the token, so nothing derived from it leaves this module unscrubbed: the
 * HTTP client's own tracing (which records the full URL) is off, spans are named after the
 * method, and every error text is scrubbed of the token before it is built.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { keepAliveFetch } from "../http/keepAliveFetch.ts"
import type { HttpClientError } from "@effect/platform"
import { Duration, Effect, Either, Layer, ParseResult, Redacted, Schema } from "effect"
import { Update } from "../domain/Update.ts"
import {
  BotUser,
  type PolledUpdate,
  SentMessage,
  TelegramApi,
  TelegramApiError,
  type TelegramApiService,
  type TelegramError,
  TelegramTransportError,
  WebhookInfo
} from "./TelegramApi.ts"
import { TelegramConfig, type TelegramConfigShape } from "./TelegramConfig.ts"
import { withSpan } from "../observability/span.ts"

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
const decodeUpdateEither = Schema.decodeUnknownEither(Update, { onExcessProperty: "ignore" })

const excerpt = (text: string, max = 200) => (text.length > max ? `${text.slice(0, max)}…` : text)

/** Removes the token (and its secret half, and its URL-encoded form) from a text. */
export const scrubber = (token: Redacted.Redacted<string>) => {
  const value = Redacted.value(token)
  const secretHalf = value.slice(value.indexOf(":") + 1)
  const needles = [value, encodeURIComponent(value), ...(secretHalf.length >= 8 ? [secretHalf] : [])]
  return (text: string): string => needles.reduce((acc, needle) => acc.split(needle).join("<token>"), text)
}

const causeText = (cause: unknown): string =>
  cause instanceof Error
    ? `${cause.message}${"code" in cause && typeof cause.code === "string" ? ` (${cause.code})` : ""}`
    : cause === undefined
    ? ""
    : String(cause)

export const makeTelegramApi = Effect.gen(function*() {
  const config: TelegramConfigShape = yield* TelegramConfig
  // The client's own spans would record the URL, token included: the calls get spans of their own.
  const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
  const scrub = scrubber(config.token)
  const base = `${config.apiBaseUrl.replace(/\/+$/, "")}/bot${Redacted.value(config.token)}/`

  const transport = (method: string, message: string, status?: number) =>
    new TelegramTransportError({ method, message: scrub(message), ...(status === undefined ? {} : { status }) })

  const fromHttpError = (method: string) => (error: HttpClientError.HttpClientError): TelegramTransportError => {
    const detail = causeText(error.cause) || error.description || ""
    return error._tag === "RequestError"
      ? transport(method, `request failed (${error.reason})${detail ? `: ${detail}` : ""}`)
      : transport(method, `reading the answer failed (${error.reason})${detail ? `: ${detail}` : ""}`, error.response.status)
  }

  /** One Bot API call: the answer's `result` decoded with `result`, or a typed error. */
  const call = <A, I>(
    method: string,
    params: Record<string, unknown>,
    result: Schema.Schema<A, I>,
    timeout: Duration.Duration = config.requestTimeout
  ): Effect.Effect<A, TelegramError> =>
    Effect.gen(function*() {
      const request = HttpClientRequest.post(`${base}${method}`).pipe(
        HttpClientRequest.acceptJson,
        HttpClientRequest.bodyText(JSON.stringify(params), "application/json")
      )
      const response = yield* client.execute(request)
      const body = yield* response.text
      const envelope = decodeEnvelope(body)
      if (Either.isLeft(envelope)) {
        const kind = body.trim() === "" ? "an empty body" : `not the Bot API's JSON (${excerpt(body, 120)})`
        return yield* Effect.fail(transport(method, `HTTP ${response.status}: ${kind}`, response.status))
      }
      const answer = envelope.right
      if (!answer.ok) {
        return yield* Effect.fail(
          new TelegramApiError({
            method,
            errorCode: answer.error_code,
            description: scrub(answer.description),
            ...(answer.parameters?.retry_after === undefined ? {} : { retryAfter: answer.parameters.retry_after }),
            ...(answer.parameters?.migrate_to_chat_id === undefined
              ? {}
              : { migrateToChatId: answer.parameters.migrate_to_chat_id })
          })
        )
      }
      return yield* Schema.decodeUnknown(result)(answer.result).pipe(
        Effect.mapError((e) =>
          transport(method, `unexpected result: ${excerpt(ParseResult.TreeFormatter.formatErrorSync(e))}`, response.status)
        )
      )
    }).pipe(
      Effect.catchIf(
        (e): e is HttpClientError.HttpClientError => e._tag === "RequestError" || e._tag === "ResponseError",
        (e) => Effect.fail(fromHttpError(method)(e))
      ),
      Effect.timeoutFail({
        duration: timeout,
        onTimeout: () => transport(method, `no answer within ${Duration.format(timeout)}`)
      }),
      withSpan(`telegram.${method}`, { kind: "client", attributes: { "telegram.method": method } })
    )

  const ok = Schema.Boolean

  const decodePolled = (raw: unknown): PolledUpdate => {
    const json = JSON.stringify(raw)
    const updateId = typeof raw === "object" && raw !== null && "update_id" in raw && typeof raw.update_id === "number"
      ? raw.update_id
      : undefined
    return Either.match(decodeUpdateEither(raw), {
      onRight: (update): PolledUpdate => ({ _tag: "Received", json, update }),
      onLeft: (error): PolledUpdate => ({
        _tag: "Undecodable",
        json,
        updateId,
        reason: excerpt(ParseResult.TreeFormatter.formatErrorSync(error), 500)
      })
    })
  }

  const api: TelegramApiService = {
    getMe: call("getMe", {}, BotUser),
    sendMessage: (message) =>
      call("sendMessage", {
        chat_id: message.chatId,
        text: message.text,
        ...(message.parseMode === undefined ? {} : { parse_mode: message.parseMode }),
        ...(message.replyToMessageId === undefined
          ? {}
          : { reply_parameters: { message_id: message.replyToMessageId, allow_sending_without_reply: true } })
      }, SentMessage),
    sendChatAction: (chatId, action) => Effect.asVoid(call("sendChatAction", { chat_id: chatId, action }, ok)),
    answerCallbackQuery: (id, text) =>
      Effect.asVoid(call("answerCallbackQuery", { callback_query_id: id, ...(text === undefined ? {} : { text }) }, ok)),
    getUpdates: (request) => {
      const pollSeconds = request.timeout ?? 0
      return call(
        "getUpdates",
        {
          ...(request.offset === undefined ? {} : { offset: request.offset }),
          ...(request.limit === undefined ? {} : { limit: request.limit }),
          timeout: pollSeconds,
          ...(request.allowedUpdates === undefined ? {} : { allowed_updates: request.allowedUpdates })
        },
        // Decoded element by element: one update the schema rejects does not lose the others.
        Schema.Array(Schema.Unknown),
        Duration.sum(Duration.seconds(pollSeconds), Duration.max(config.requestTimeout, longPollMargin))
      ).pipe(Effect.map((raw) => raw.map(decodePolled)))
    },
    setWebhook: (request) =>
      Effect.asVoid(call("setWebhook", {
        url: request.url,
        ...(request.secretToken === undefined ? {} : { secret_token: request.secretToken }),
        ...(request.allowedUpdates === undefined ? {} : { allowed_updates: request.allowedUpdates }),
        ...(request.maxConnections === undefined ? {} : { max_connections: request.maxConnections }),
        ...(request.dropPendingUpdates === undefined ? {} : { drop_pending_updates: request.dropPendingUpdates })
      }, ok)),
    deleteWebhook: (dropPendingUpdates) =>
      Effect.asVoid(call("deleteWebhook", { drop_pending_updates: dropPendingUpdates }, ok)),
    getWebhookInfo: call("getWebhookInfo", {}, WebhookInfo)
  }
  return TelegramApi.of(api)
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
