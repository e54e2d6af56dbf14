/**
 * A layer whose module is imported when the layer is built, not when the program starts: the
 * parts only some configurations need (the cluster, PostgreSQL, YDB, OpenTelemetry) cost a
 * plain start nothing. `--help` of the whole bot loaded about 1 900 modules before they were
 * deferred. A module that cannot be imported is a defect (a broken installation), not an error
 * a caller could handle.
 */
import { Effect, Layer } from "effect"

export const lazyLayer = <A, E, R>(load: () => Promise<Layer.Layer<A, E, R>>): Layer.Layer<A, E, R> =>
  Layer.unwrapEffect(Effect.promise(load))

/**
 * `run` with a module imported when the effect runs, not when the program starts: the command
 * line's commands import their implementation so, and `--help` loads only their definitions.
 */
export const withModule = <M, A, E, R>(load: () => Promise<M>, run: (module: M) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.flatMap(Effect.promise(load), run)
