/**
 * `withSpan` that costs nothing when tracing is off. Effect's own `Effect.withSpan` does the
 * span bookkeeping even with the tracer disabled (about 20 µs a span, measured in
 * bench/README.md), and a dialog opens some twenty spans; this one checks the tracer switch
 * first and runs the effect as it is when no collector is configured.
 */
import { Effect, FiberRef, type Option, type Tracer } from "effect"

/** Whether the running fiber traces: one runtime step, where `FiberRef.get` and a `flatMap` are three. */
export const tracing = <A, E, R>(f: (enabled: boolean) => Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) => f(fiber.getFiberRef(FiberRef.currentTracerEnabled)))

export const withSpan = (name: string, options?: Tracer.SpanOptions) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
  tracing((enabled) =>
    enabled
      ? Effect.withSpan(self, name, options)
      // Nothing in the bot asks for the parent span itself; with tracing off there is none to give.
      : (self as Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>>)
  )

/**
 * `Effect.annotateCurrentSpan` that costs nothing when tracing is off: effect's builds an
 * exception (a stack trace) to tell itself that there is no span, on every call.
 */
export function annotateSpan(key: string, value: unknown): Effect.Effect<void>
export function annotateSpan(values: Record<string, unknown>): Effect.Effect<void>
export function annotateSpan(keyOrValues: string | Record<string, unknown>, value?: unknown): Effect.Effect<void> {
  return tracing((enabled) =>
    !enabled
      ? Effect.void
      : typeof keyOrValues === "string"
      ? Effect.annotateCurrentSpan(keyOrValues, value)
      : Effect.annotateCurrentSpan(keyOrValues))
}

/**
 * `effect` with `values` put on the current span first when the fiber traces, `effect` itself
 * otherwise: one runtime step, where `annotateSpan` before it takes three.
 */
export const annotatedSpan = <A, E, R>(values: Record<string, unknown>, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  tracing((enabled) => (enabled ? Effect.zipRight(Effect.annotateCurrentSpan(values), effect) : effect))

/** `Effect.tap` putting `f(a)` on the current span when the fiber traces; `self` as it is otherwise (one step). */
export const tapSpan = <A>(f: (a: A) => Record<string, unknown>) =>
<E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  tracing((enabled) => (enabled ? Effect.tap(self, (a) => Effect.annotateCurrentSpan(f(a))) : self))

/** The current span, when tracing is on and there is one; none otherwise, without effect's exception. */
export const currentSpanOption: Effect.Effect<Option.Option<Tracer.Span>> = tracing(
  (enabled) => (enabled ? Effect.option(Effect.currentSpan) : Effect.succeedNone)
)
