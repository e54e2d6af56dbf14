/**
 * Instrumentation applied to the edges of the bot where the layer graph is built, so every
 * implementation — memory, SQLite or YDB stores; the Bot API over HTTP or the recorder — gets
 * the same spans and metrics without knowing about them:
 *
 * - every store call: a span `store.<store>.<operation>`, its latency, its failures;
 * - every Bot API call: its latency and its failures by error code (the spans
 *   `telegram.<method>` are the HTTP client's own); the text sent goes on the caller's span
 *   as `reply.text` when message texts are traced.
 *
 * Model calls are measured by the model layers themselves (`llm.complete` spans,
 * `src/llm/LlmMetrics.ts`). Span attributes are ids, names and counts; message texts only
 * with `TRACE_MESSAGE_TEXT`.
 */
import { Context, Effect, Layer, Metric } from "effect"
import { ClientStore } from "../store/ClientStore.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { Inbox } from "../store/Inbox.ts"
import { TelegramApi, type TelegramApiService, type TelegramError } from "../telegram/TelegramApi.ts"
import {
  storeDuration,
  storeErrors,
  telegramDuration,
  telegramErrors,
  telegramRequests,
  withTags
} from "./Metrics.ts"
import { annotateText } from "./TraceSettings.ts"
import { withSpan } from "./span.ts"

type AnyEffect = Effect.Effect<unknown, unknown, unknown>
type AnyFunction = (...args: Array<unknown>) => unknown

/** Every property name of a service object, its prototype chain included (class-based services). */
const propertyNames = (service: object): ReadonlyArray<string> => {
  const names = new Set<string>()
  let current: object | null = service
  while (current !== null && current !== Object.prototype) {
    for (const name of Object.getOwnPropertyNames(current)) if (name !== "constructor") names.add(name)
    current = Object.getPrototypeOf(current) as object | null
  }
  return [...names]
}

/**
 * A copy of a service whose every effect — an effect-valued property, or the effect a method
 * returns — goes through `wrap` with the operation's name. Other properties are kept as they are.
 */
export const wrapService = <S extends object>(
  service: S,
  wrap: (operation: string, effect: AnyEffect) => AnyEffect
): S => {
  const wrapped: Record<string, unknown> = {}
  const source = service as Record<string, unknown>
  for (const name of propertyNames(service)) {
    const value = source[name]
    if (Effect.isEffect(value)) {
      wrapped[name] = wrap(name, value as AnyEffect)
    } else if (typeof value === "function") {
      const method = value as AnyFunction
      wrapped[name] = (...args: Array<unknown>) => {
        const result = method.apply(service, args)
        return Effect.isEffect(result) ? wrap(name, result as AnyEffect) : result
      }
    } else {
      wrapped[name] = value
    }
  }
  return wrapped as S
}

// ── stores ────────────────────────────────────────────────────────────────────────────────────

const storeCall = (store: string) => (operation: string, effect: AnyEffect): AnyEffect =>
  effect.pipe(
    Effect.tapError(() => Metric.increment(withTags(storeErrors, { store, operation }))),
    Metric.trackDuration(withTags(storeDuration, { store, operation })),
    withSpan(`store.${store}.${operation}`, {
      kind: "client",
      attributes: { "store.name": store, "store.operation": operation }
    })
  )

/**
 * The store services of a context, each passed through `wrap` with its store's name
 * (`clients`, `history`, `inbox`): the one way to put something in front of every store call,
 * whichever layer provides the stores.
 */
export const mapStores = <S>(
  context: Context.Context<S>,
  wrap: (store: string) => (operation: string, effect: AnyEffect) => AnyEffect
): Context.Context<S> => {
  let result: Context.Context<S> = context
  const clients = Context.getOption(context as Context.Context<unknown>, ClientStore)
  if (clients._tag === "Some") result = Context.add(result, ClientStore, wrapService(clients.value, wrap("clients")))
  const history = Context.getOption(context as Context.Context<unknown>, HistoryStore)
  if (history._tag === "Some") result = Context.add(result, HistoryStore, wrapService(history.value, wrap("history")))
  const inbox = Context.getOption(context as Context.Context<unknown>, Inbox)
  if (inbox._tag === "Some") result = Context.add(result, Inbox, wrapService(inbox.value, wrap("inbox")))
  return result
}

/** The store services with a span and metrics around every call. */
export const instrumentStoreContext = <S>(context: Context.Context<S>): Context.Context<S> =>
  mapStores(context, storeCall)

/** A store layer (memory, SQLite, YDB) whose services get a span and metrics per call. */
export const instrumentStores = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.map(layer, instrumentStoreContext)

// ── Telegram Bot API ──────────────────────────────────────────────────────────────────────────

const errorCode = (error: TelegramError): string =>
  error._tag === "TelegramApiError" ? String(error.errorCode) : "transport"

const telegramCall = <A>(method: string, effect: Effect.Effect<A, TelegramError>): Effect.Effect<A, TelegramError> =>
  Effect.zipRight(
    Metric.increment(Metric.tagged(telegramRequests, "method", method)),
    effect.pipe(
      Effect.tapError((error) => Metric.increment(withTags(telegramErrors, { method, code: errorCode(error) }))),
      Metric.trackDuration(Metric.tagged(telegramDuration, "method", method))
    )
  )

/** The Bot API with metrics around every call: requests, latency and failures by error code. */
export const instrumentTelegramApi = (api: TelegramApiService): TelegramApiService =>
  TelegramApi.of({
    getMe: telegramCall("getMe", api.getMe),
    sendMessage: (message) =>
      telegramCall("sendMessage", Effect.zipRight(annotateText("reply.text", message.text), api.sendMessage(message))),
    sendChatAction: (chatId, action) => telegramCall("sendChatAction", api.sendChatAction(chatId, action)),
    answerCallbackQuery: (id, text) => telegramCall("answerCallbackQuery", api.answerCallbackQuery(id, text)),
    getUpdates: (request) => telegramCall("getUpdates", api.getUpdates(request)),
    setWebhook: (request) => telegramCall("setWebhook", api.setWebhook(request)),
    deleteWebhook: (drop) => telegramCall("deleteWebhook", api.deleteWebhook(drop)),
    getWebhookInfo: telegramCall("getWebhookInfo", api.getWebhookInfo)
  })

/** A Bot API layer (HTTP, recorder, console) whose calls are measured. */
export const instrumentTelegram = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.map(layer, (context) => {
    const api = Context.getOption(context as Context.Context<unknown>, TelegramApi)
    return api._tag === "Some" ? Context.add(context, TelegramApi, instrumentTelegramApi(api.value)) : context
  })
