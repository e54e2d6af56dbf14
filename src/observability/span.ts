/**
 * `withSpan` that costs nothing when tracing is off. Effect's own `Effect.withSpan` does the
 * span bookkeeping even with the tracer disabled (about 20 µs a span, measured in
 * bench/README.md), and a dialog opens some twenty spans; this one checks the tracer switch
 * first and runs the effect as it is when no collector is configured.
 */
import { Effect, FiberRef, type Tracer } from "effect"

export const withSpan = (name: string, options?: Tracer.SpanOptions) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>> =>
  Effect.flatMap(
    FiberRef.get(FiberRef.currentTracerEnabled),
    (enabled) =>
      enabled
        ? Effect.withSpan(self, name, options)
        // Nothing in the bot asks for the parent span itself; with tracing off there is none to give.
        : (self as Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>>)
  )
