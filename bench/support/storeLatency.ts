/**
 * Store latency for the benchmarks, added in front of every store call of any store layer:
 * `async` waits without blocking (a database round trip done right), `blocking` holds the
 * event loop for the same time with Atomics.wait (a synchronous driver inside async code,
 * as in the original design).
 */
import { Effect, Layer } from "effect"
import type { mapStores as MapStores } from "../../src/store/Instrumented.ts"

const cell = new Int32Array(new SharedArrayBuffer(4))

export type LatencyMode = "async" | "blocking"

const delay = (mode: LatencyMode, ms: number): Effect.Effect<void> =>
  mode === "async"
    ? Effect.sleep(ms)
    : Effect.sync(() => {
      Atomics.wait(cell, 0, 0, ms)
    })

/** `mapStores` is the bot's own (src/store/Instrumented.ts), from the tree the bench runs. */
export const withStoreLatency = <A, E, R>(
  mapStores: typeof MapStores,
  layer: Layer.Layer<A, E, R>,
  mode: LatencyMode,
  ms: number
): Layer.Layer<A, E, R> =>
  Layer.map(layer, (context) => mapStores(context, () => (_operation, effect) => Effect.zipRight(delay(mode, ms), effect)))
