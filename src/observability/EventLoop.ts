/**
 * Event loop delay: how late timers fire because something holds the loop. A bot that never
 * blocks keeps it near the sampling resolution; a synchronous call in the hot path shows up
 * here first. `perf_hooks.monitorEventLoopDelay` measures it; a scoped fiber copies its p50,
 * p99, max and mean into the `bot_event_loop_delay_seconds` gauge every interval and starts
 * the next interval afresh.
 */
import { Duration, Effect, Layer, Metric, Schedule } from "effect"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { eventLoopDelay, withTags } from "./Metrics.ts"

export interface EventLoopMonitorOptions {
  /** How often the gauges are updated (and the measurement reset). */
  readonly interval: Duration.DurationInput
  /** Sampling resolution of the monitor, in milliseconds. */
  readonly resolutionMs: number
}

const nanosToSeconds = (nanos: number) => (Number.isFinite(nanos) ? nanos / 1e9 : 0)

/** Samples the event loop delay into the gauge while the scope is open. */
export const monitorEventLoop = (options: EventLoopMonitorOptions) =>
  Effect.gen(function*() {
    const histogram = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const h = monitorEventLoopDelay({ resolution: options.resolutionMs })
        h.enable()
        return h
      }),
      (h) => Effect.sync(() => h.disable())
    )
    const sample = Effect.suspend(() => {
      const stats = {
        p50: histogram.percentile(50),
        p99: histogram.percentile(99),
        max: histogram.max,
        mean: histogram.mean
      }
      histogram.reset()
      return Effect.forEach(
        Object.entries(stats),
        ([stat, nanos]) => Metric.set(withTags(eventLoopDelay, { stat }), nanosToSeconds(nanos)),
        { discard: true }
      )
    })
    yield* Effect.forkScoped(Effect.repeat(Effect.delay(sample, options.interval), Schedule.forever))
  })

/** The event loop monitor with a 10 ms resolution, updated every 5 seconds. */
export const EventLoopMonitorLive = Layer.scopedDiscard(monitorEventLoop({ interval: "5 seconds", resolutionMs: 10 }))
