/**
 * Tracing. Every update is one trace: `update.intake` (the webhook, the poller or the replay
 * handing it to the dispatcher) → `dispatcher.update` → `dialog.handle` → `dialog.run` →
 * `dialog.classify` / `dialog.think` / `dialog.synthesize`, with `tool.execute`,
 * `llm.complete`, `store.*` and `telegram.*` spans below them.
 *
 * With `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g. `http://127.0.0.1:4318`), spans go to an OTLP
 * collector over HTTP (JSON) through `@effect/opentelemetry`'s NodeSdk and a batch
 * processor; `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` overrides the full URL, and
 * `OTEL_EXPORTER_OTLP_HEADERS` (read by the exporter) carries an API key if the collector
 * needs one. Unset, no exporter is built and effect's built-in tracer costs next to nothing.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http"
import { BatchSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Config, type Duration, Effect, Layer, Option } from "effect"
import { TraceSettings } from "./TraceSettings.ts"

export const TracingConfig = Config.all({
  /** Base URL of the OTLP/HTTP collector; `/v1/traces` is appended. */
  endpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
  /** Full URL of the traces endpoint; wins over `endpoint`. */
  tracesEndpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("dialog-bot"))
})

export interface OtlpTracingOptions {
  /** Full URL of the OTLP/HTTP traces endpoint. */
  readonly url: string
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** How long shutdown waits for the last spans to be exported. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/** The traces URL: the explicit traces endpoint, else `<endpoint>/v1/traces`. */
export const tracesUrl = (endpoint: string, tracesEndpoint: Option.Option<string>): string =>
  Option.getOrElse(tracesEndpoint, () => `${endpoint.replace(/\/+$/, "")}/v1/traces`)

/** Spans exported to an OTLP/HTTP collector in batches; flushed when the layer closes. */
export const otlpTracing = (options: OtlpTracingOptions) =>
  NodeSdk.layer(() => ({
    resource: {
      serviceName: options.serviceName,
      ...(options.serviceVersion ? { serviceVersion: options.serviceVersion } : {})
    },
    spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: options.url })),
    shutdownTimeout: options.shutdownTimeout ?? "5 seconds"
  }))

/**
 * Tracing of an entry point: the OTLP exporter when an endpoint is configured, nothing
 * otherwise; and what spans may carry (`TRACE_MESSAGE_TEXT`).
 */
export const tracingLayer = Layer.unwrapEffect(
  Effect.map(Effect.orDie(TracingConfig), ({ endpoint, serviceName, tracesEndpoint }) => {
    const url = Option.isSome(tracesEndpoint)
      ? Option.some(tracesEndpoint.value)
      : Option.map(endpoint, (e) => tracesUrl(e, Option.none()))
    const exporter = Option.match(url, {
      onNone: () => Layer.empty,
      onSome: (url) => Layer.discard(otlpTracing({ url, serviceName, serviceVersion: "0.1.0" }))
    })
    return Layer.merge(exporter, Layer.orDie(TraceSettings.fromEnv))
  })
)
