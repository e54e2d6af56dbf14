/**
 * Instrumentation applied to the edges of the bot where the layer graph is built, so every
 * implementation — memory, SQLite, PostgreSQL or YDB stores — gets the same spans and metrics without
 * knowing about them: every store call gets a span `store.<store>.<operation>`, its latency,
 * its failures.
 *
 * Bot API calls are measured on their one call path (`src/telegram/BotApiCall.ts`: spans
 * `telegram.<method>`, latency, failures by error code, `reply.text`), model calls by the
 * model layers themselves (`llm.complete` spans, `src/llm/LlmMetrics.ts`). Span attributes
 * are ids, names and counts; message texts only with `TRACE_MESSAGE_TEXT`.
 */
import { Context, Effect, Layer } from "effect"
import { ClientStore } from "./ClientStore.ts"
import { ConversationState } from "./ConversationState.ts"
import { FeedbackStore } from "./FeedbackStore.ts"
import { HistoryStore } from "./HistoryStore.ts"
import { Inbox } from "./Inbox.ts"
import { UsageLedger } from "../usage/UsageLedger.ts"
import { measured, storeDuration, storeErrors, withTags } from "../observability/Metrics.ts"

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

const storeCall = (store: string) => {
  // The metrics and the span's options of each operation, made at its first call.
  const byOperation = new Map<string, (effect: AnyEffect) => AnyEffect>()
  const instrument = (operation: string) => {
    const errors = withTags(storeErrors, { store, operation })
    return measured(withTags(storeDuration, { store, operation }), () => errors, {
      name: `store.${store}.${operation}`,
      options: { kind: "client", attributes: { "store.name": store, "store.operation": operation } }
    }) as (effect: AnyEffect) => AnyEffect
  }
  return (operation: string, effect: AnyEffect): AnyEffect => {
    let wrap = byOperation.get(operation)
    if (wrap === undefined) {
      wrap = instrument(operation)
      byOperation.set(operation, wrap)
    }
    return wrap(effect)
  }
}

/**
 * The store services of a context, each passed through `wrap` with its store's name
 * (`clients`, `history`, `inbox`, `state`, `usage`, `feedback`): the one way to put something in front of every store call,
 * whichever layer provides the stores. A call made inside another (the usage ledger's
 * `recordTurn` runs the reply's history append inside it) goes through both wrappers; the
 * store's breaker lets the inner one pass (`effect/Breaker.ts`).
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
  const state = Context.getOption(context as Context.Context<unknown>, ConversationState)
  if (state._tag === "Some") result = Context.add(result, ConversationState, wrapService(state.value, wrap("state")))
  const usage = Context.getOption(context as Context.Context<unknown>, UsageLedger)
  if (usage._tag === "Some") result = Context.add(result, UsageLedger, wrapService(usage.value, wrap("usage")))
  const feedback = Context.getOption(context as Context.Context<unknown>, FeedbackStore)
  if (feedback._tag === "Some") result = Context.add(result, FeedbackStore, wrapService(feedback.value, wrap("feedback")))
  return result
}

/** The store services with a span and metrics around every call. */
export const instrumentStoreContext = <S>(context: Context.Context<S>): Context.Context<S> =>
  mapStores(context, storeCall)

/** A store layer (memory, SQLite, PostgreSQL, YDB) whose services get a span and metrics per call. */
export const instrumentStores = <A, E, R>(layer: Layer.Layer<A, E, R>): Layer.Layer<A, E, R> =>
  Layer.map(layer, instrumentStoreContext)
