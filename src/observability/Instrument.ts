/**
 * Instrumentation applied to the edges of the bot where the layer graph is built, so every
 * implementation — memory, SQLite or YDB stores; the Bot API over HTTP or the recorder; any
 * language model — gets the same spans and metrics without knowing about them.
 *
 * - every store call: a span `store.<store>.<operation>`, its latency, its failures;
 * - every Bot API call: a span `telegram.<method>` (not the long poll `getUpdates`, which
 *   would open a trace every few seconds), its latency, its failures by error code;
 * - every model call: a span `llm.complete` with the purpose, the model and the tokens.
 *
 * Span attributes are ids, names and counts; message texts only with `TRACE_MESSAGE_TEXT`.
 */
import { Context, Effect, Layer, Metric } from "effect"
import { type CompletionRequest, LanguageModel, type LanguageModelService } from "../llm/LanguageModel.ts"
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
    Effect.withSpan(`store.${store}.${operation}`, {
      kind: "client",
      attributes: { "store.name": store, "store.operation": operation }
    })
  )

/** The store services with a span and metrics around every call. */
export const instrumentStoreContext = <S>(context: Context.Context<S>): Context.Context<S> => {
  let result: Context.Context<S> = context
  const clients = Context.getOption(context as Context.Context<unknown>, ClientStore)
  if (clients._tag === "Some") result = Context.add(result, ClientStore, wrapService(clients.value, storeCall("clients")))
  const history = Context.getOption(context as Context.Context<unknown>, HistoryStore)
  if (history._tag === "Some") result = Context.add(result, HistoryStore, wrapService(history.value, storeCall("history")))
  const inbox = Context.getOption(context as Context.Context<unknown>, Inbox)
  if (inbox._tag === "Some") result = Context.add(result, Inbox, wrapService(inbox.value, storeCall("inbox")))
  return result
}

/** A store layer (memory, SQLite, YDB) whose services get a span and metrics per call. */
export const instrumentStores = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.map(layer, instrumentStoreContext)

// ── Telegram Bot API ──────────────────────────────────────────────────────────────────────────

const errorCode = (error: TelegramError): string =>
  error._tag === "TelegramApiError" ? String(error.errorCode) : "transport"

const telegramCall = <A>(
  method: string,
  effect: Effect.Effect<A, TelegramError>,
  attributes: Record<string, unknown> = {},
  traced = true
): Effect.Effect<A, TelegramError> => {
  const measured = effect.pipe(
    Effect.tapError((error) =>
      Effect.zipRight(
        Metric.increment(withTags(telegramErrors, { method, code: errorCode(error) })),
        Effect.annotateCurrentSpan("telegram.error_code", errorCode(error))
      )
    ),
    Metric.trackDuration(Metric.tagged(telegramDuration, "method", method)),
    (self) => Effect.zipRight(Metric.increment(Metric.tagged(telegramRequests, "method", method)), self)
  )
  return traced
    ? Effect.withSpan(measured, `telegram.${method}`, {
      kind: "client",
      attributes: { "telegram.method": method, ...attributes }
    })
    : measured
}

/** The Bot API with a span (method, chat_id, error code) and metrics around every call. */
export const instrumentTelegramApi = (api: TelegramApiService): TelegramApiService =>
  TelegramApi.of({
    getMe: telegramCall("getMe", api.getMe),
    sendMessage: (message) =>
      telegramCall(
        "sendMessage",
        Effect.zipRight(annotateText("reply.text", message.text), api.sendMessage(message)),
        {
          chat_id: message.chatId,
          "message.length": message.text.length,
          ...(message.parseMode ? { "message.parse_mode": message.parseMode } : {})
        }
      ),
    sendChatAction: (chatId, action) => telegramCall("sendChatAction", api.sendChatAction(chatId, action), { chat_id: chatId }),
    answerCallbackQuery: (id, text) => telegramCall("answerCallbackQuery", api.answerCallbackQuery(id, text)),
    getUpdates: (request) => telegramCall("getUpdates", api.getUpdates(request), {}, false),
    setWebhook: (request) => telegramCall("setWebhook", api.setWebhook(request)),
    deleteWebhook: (drop) => telegramCall("deleteWebhook", api.deleteWebhook(drop)),
    getWebhookInfo: telegramCall("getWebhookInfo", api.getWebhookInfo)
  })

/** A Bot API layer (HTTP, recorder, console) whose calls get a span and metrics. */
export const instrumentTelegram = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.map(layer, (context) => {
    const api = Context.getOption(context as Context.Context<unknown>, TelegramApi)
    return api._tag === "Some" ? Context.add(context, TelegramApi, instrumentTelegramApi(api.value)) : context
  })

// ── language model ────────────────────────────────────────────────────────────────────────────

const lastUserText = (request: CompletionRequest): string => {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]
    if (message?.role === "user") return message.content
  }
  return ""
}

/** The model with a span per call: purpose, model, tokens, tool calls. */
export const instrumentLanguageModelService = (model: LanguageModelService): LanguageModelService =>
  LanguageModel.of({
    description: model.description,
    complete: (request) =>
      Effect.gen(function*() {
        yield* annotateText("message.text", lastUserText(request))
        const response = yield* model.complete(request)
        yield* Effect.annotateCurrentSpan({
          "llm.model": response.model,
          "llm.prompt_tokens": response.usage.promptTokens,
          "llm.completion_tokens": response.usage.completionTokens,
          "llm.tool_calls": response.toolCalls.length
        })
        return response
      }).pipe(
        Effect.withSpan("llm.complete", {
          kind: "client",
          attributes: {
            "llm.purpose": request.purpose,
            "llm.description": model.description,
            "llm.messages": request.messages.length,
            "llm.tools_offered": request.tools?.length ?? 0
          }
        })
      )
  })

/** A model layer whose calls get a span each. */
export const instrumentModel = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.map(layer, (context) => {
    const model = Context.getOption(context as Context.Context<unknown>, LanguageModel)
    return model._tag === "Some" ? Context.add(context, LanguageModel, instrumentLanguageModelService(model.value)) : context
  })
