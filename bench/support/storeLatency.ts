/**
 * Store latency for the benchmarks, added in front of every store call of any store layer:
 * `async` waits without blocking (a database round trip done right), `blocking` holds the
 * event loop for the same time with Atomics.wait (a synchronous driver inside async code,
 * as in the original design).
 */
import { Context, Effect, Layer } from "effect"
import { wrapService } from "../../src/observability/Instrument.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"

const cell = new Int32Array(new SharedArrayBuffer(4))

export type LatencyMode = "async" | "blocking"

const delay = (mode: LatencyMode, ms: number): Effect.Effect<void> =>
  mode === "async"
    ? Effect.sleep(ms)
    : Effect.sync(() => {
      Atomics.wait(cell, 0, 0, ms)
    })

export const withStoreLatency = <A, E, R>(
  layer: Layer.Layer<A, E, R>,
  mode: LatencyMode,
  ms: number
): Layer.Layer<A, E, R> =>
  Layer.map(layer, (context) => {
    const slow = <S extends object>(service: S) =>
      wrapService(service, (_operation, effect) => Effect.zipRight(delay(mode, ms), effect))
    let result = context
    const unknownContext = context as Context.Context<unknown>
    const clients = Context.getOption(unknownContext, ClientStore)
    if (clients._tag === "Some") result = Context.add(result, ClientStore, slow(clients.value))
    const history = Context.getOption(unknownContext, HistoryStore)
    if (history._tag === "Some") result = Context.add(result, HistoryStore, slow(history.value))
    const inbox = Context.getOption(unknownContext, Inbox)
    if (inbox._tag === "Some") result = Context.add(result, Inbox, slow(inbox.value))
    return result
  })
