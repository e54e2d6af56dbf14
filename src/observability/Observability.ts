/**
 * Everything an entry point adds for operators, from the environment: tracing (OTLP export
 * when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, `TRACE_MESSAGE_TEXT`), the event loop delay gauge,
 * and the metrics server when `METRICS_PORT` is set. Logging is `loggingLayer` in
 * `src/runtime/Logging.ts`.
 *
 * The layer is built before every command, so it imports the metrics server's HTTP stack
 * (`MetricsServer.ts`, some 100 modules) only when `METRICS_PORT` asks for it: `serve` opens
 * its port that much sooner.
 */
import { Effect, Layer, Option } from "effect"
import { lazyLayer } from "../effect/lazyLayer.ts"
import { EventLoopMonitorLive } from "./EventLoop.ts"
import { MetricsServerConfigSchema } from "./MetricsServerConfig.ts"
import { ReadinessProbesLive } from "./Readiness.ts"
import { tracingLayer } from "./Tracing.ts"

/** The metrics server when `METRICS_PORT` is set, with the process's `ReadinessProbes`; the probes alone otherwise. */
const metricsServer = Layer.unwrapEffect(Effect.map(MetricsServerConfigSchema, ({ port }) =>
  Option.isNone(port) ? ReadinessProbesLive : lazyLayer(() => import("./MetricsServer.ts").then((m) => m.MetricsServerLive))))

export const observabilityLayer = Layer.mergeAll(tracingLayer, EventLoopMonitorLive, metricsServer)
