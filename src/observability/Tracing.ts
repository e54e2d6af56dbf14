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
 * needs one. Unset, no exporter is built and the tracer is switched off, so spans cost nothing.
 */
import * as Headers from "@effect/platform/Headers"
import * as HttpMiddleware from "@effect/platform/HttpMiddleware"
import { Config, type Duration, Effect, Layer, Option } from "effect"
import { Settings } from "../config.ts"
import { lazyLayer } from "../effect/lazyLayer.ts"
import { untracedPaths } from "./MetricsServerConfig.ts"
import { TraceSettings } from "./TraceSettings.ts"

export const TracingConfigSchema = Config.all({
  /** Base URL of the OTLP/HTTP collector; `/v1/traces` is appended. */
  endpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_ENDPOINT")),
  /** Full URL of the traces endpoint; wins over `endpoint`. */
  tracesEndpoint: Config.option(Config.string("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("dialog-bot"))
})

/** Where spans are exported; read when the tracing layer is built. */
export class TracingConfig extends Settings<TracingConfig>()("dialog-bot/TracingConfig", TracingConfigSchema) {}

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

/**
 * Spans exported to an OTLP/HTTP collector in batches; flushed when the layer closes. The
 * OpenTelemetry SDK is imported when the layer is built (only with a collector configured).
 */
export const otlpTracing = (options: OtlpTracingOptions) =>
  lazyLayer(async () => {
    const [{ NodeSdk }, { OTLPTraceExporter }, { BatchSpanProcessor }] = await Promise.all([
      import("@effect/opentelemetry"),
      import("@opentelemetry/exporter-trace-otlp-http"),
      import("@opentelemetry/sdk-trace-base")
    ])
    return NodeSdk.layer(() => ({
      resource: {
        serviceName: options.serviceName,
        ...(options.serviceVersion ? { serviceVersion: options.serviceVersion } : {})
      },
      spanProcessor: new BatchSpanProcessor(new OTLPTraceExporter({ url: options.url })),
      shutdownTimeout: options.shutdownTimeout ?? "5 seconds"
    }))
  })

/**
 * Header names whose values never reach a span: the HTTP server's spans record request
 * headers, and Telegram sends the webhook secret in one.
 */
export const secretHeaderNames: ReadonlyArray<string | RegExp> = [
  "x-telegram-bot-api-secret-token",
  /secret|token|password|api-key/i
]

const pathOf = (url: string) => url.split("?")[0] ?? url

/**
 * What the HTTP servers of the process (webhook, metrics) put on their spans: secret headers
 * redacted, and no span for `/metrics` and `/healthz` (scrapes would bury the update traces).
 */
export const httpTracingDefaults = Layer.mergeAll(
  Layer.fiberRefLocallyScopedWith(Headers.currentRedactedNames, (names) => [...names, ...secretHeaderNames]),
  Layer.fiberRefLocallyScopedWith(
    HttpMiddleware.currentTracerDisabledWhen,
    (disabled) => (request) => disabled(request) || untracedPaths.includes(pathOf(request.url))
  )
)

/**
 * Tracing of an entry point: the OTLP exporter when an endpoint is configured, nothing
 * otherwise; what spans may carry (`TRACE_MESSAGE_TEXT`); secret headers redacted and scrapes
 * untraced on the HTTP servers.
 */
export const tracingLayer = Layer.unwrapEffect(
  Effect.map(Effect.orDie(TracingConfigSchema), ({ endpoint, serviceName, tracesEndpoint }) => {
    const url = Option.isSome(tracesEndpoint)
      ? Option.some(tracesEndpoint.value)
      : Option.map(endpoint, (e) => tracesUrl(e, Option.none()))
    const exporter = Option.match(url, {
      // No collector: spans would go nowhere, so none are made (they cost a fifth of the CPU of a
      // dialog), not even the HTTP servers' request spans.
      onNone: () =>
        Layer.merge(
          Layer.setTracerEnabled(false),
          Layer.fiberRefLocallyScopedWith(HttpMiddleware.currentTracerDisabledWhen, () => () => true)
        ),
      onSome: (url) => Layer.discard(otlpTracing({ url, serviceName, serviceVersion: "0.1.0" }))
    })
    return Layer.mergeAll(exporter, Layer.orDie(TraceSettings.fromEnv), httpTracingDefaults)
  })
)
