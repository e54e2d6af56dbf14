/**
 * Everything an entry point adds for operators, from the environment: tracing (OTLP export
 * when `OTEL_EXPORTER_OTLP_ENDPOINT` is set, `TRACE_MESSAGE_TEXT`), the event loop delay gauge,
 * and the metrics server when `METRICS_PORT` is set. Logging is `loggingLayer` in
 * `src/runtime/Logging.ts`.
 */
import { Layer } from "effect"
import { EventLoopMonitorLive } from "./EventLoop.ts"
import { MetricsServerLive } from "./MetricsServer.ts"
import { tracingLayer } from "./Tracing.ts"

export const observabilityLayer = Layer.mergeAll(tracingLayer, EventLoopMonitorLive, MetricsServerLive)
