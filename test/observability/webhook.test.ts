import { NodeSdk } from "@effect/opentelemetry"
import { HttpServer } from "@effect/platform"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option, Redacted } from "effect"
import { metricsRoute } from "../../src/observability/MetricsServer.ts"
import { prometheusContentType } from "../../src/observability/Prometheus.ts"
import { httpTracingDefaults } from "../../src/observability/Tracing.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { testBot, textMessage } from "../../src/testing/index.ts"
import { WebhookConfig } from "../../src/telegram/TelegramConfig.ts"
import { secretHeader, WebhookServerLive } from "../../src/telegram/WebhookServer.ts"

const secret = "webhook-s3cret-value"
/** The trace and span of a caller in front of the bot (a proxy), in W3C `traceparent` form. */
const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
const callerSpan = "00f067aa0ba902b7"

const request = (url: string, init?: RequestInit) =>
  Effect.promise(async () => {
    const response = await fetch(url, init)
    return { status: response.status, type: response.headers.get("content-type"), body: await response.text() }
  })

describe("the webhook server's observability", () => {
  const exporter = new InMemorySpanExporter()
  const tracing = NodeSdk.layer(() => ({
    resource: { serviceName: "dialog-bot-test" },
    spanProcessor: new SimpleSpanProcessor(exporter)
  }))

  it.live("serves /metrics next to the webhook, links a webhook request to its update's trace, and keeps the secret off the spans", () =>
    Effect.gen(function*() {
      const address = (yield* HttpServer.HttpServer).address
      if (address._tag !== "TcpAddress") return yield* Effect.die("expected a TCP address")
      const base = `http://127.0.0.1:${address.port}`

      const posted = yield* request(`${base}/telegram/webhook`, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          [secretHeader]: secret,
          traceparent: `00-${callerTrace}-${callerSpan}-01`
        },
        body: JSON.stringify(textMessage({ userId: 801, updateId: 9501, text: "hello" }))
      })
      expect(posted.status).toBe(200)
      yield* (yield* Dispatcher).awaitIdle

      const metrics = yield* request(`${base}/metrics`)
      expect(metrics.status).toBe(200)
      expect(metrics.type).toBe(prometheusContentType)
      expect(metrics.body).toMatch(/^bot_updates_received_total\{kind="message"\} \d+$/m)
      expect(metrics.body).toMatch(/^bot_updates_processed_total\{outcome="answered"\} \d+$/m)
      // The webhook's own health route is kept.
      expect(JSON.parse((yield* request(`${base}/healthz`)).body)).toMatchObject({ status: "ok" })

      const spans = exporter.getFinishedSpans()
      const server = spans.filter((s) => s.name.startsWith("http.server"))
      // The scrape and the health check are not traced; the webhook POST is.
      expect(server.map((s) => s.name)).toEqual(["http.server POST"])
      // The request's span continues the caller's trace and tells what was asked and answered.
      expect(server[0]!.spanContext().traceId).toBe(callerTrace)
      expect(server[0]!.parentSpanContext?.spanId).toBe(callerSpan)
      expect(server[0]!.attributes).toMatchObject({
        "http.request.method": "POST",
        "url.path": "/telegram/webhook",
        "http.response.status_code": 200
      })
      // The request's trace ends at the handler; the update is a trace of its own, linked to it.
      const requestTrace = spans.filter((s) => s.spanContext().traceId === server[0]!.spanContext().traceId)
      expect(requestTrace.map((s) => s.name).sort()).toEqual(["http.server POST", "telegram.webhook"])
      const handler = requestTrace.find((s) => s.name === "telegram.webhook")!
      const intake = spans.find((s) => s.name === "update.intake")!
      expect(intake.parentSpanContext).toBeUndefined()
      expect(intake.links.map((l) => l.context.spanId)).toEqual([handler.spanContext().spanId])
      const updateTrace = spans.filter((s) => s.spanContext().traceId === intake.spanContext().traceId).map((s) => s.name)
      expect(updateTrace).toEqual(expect.arrayContaining(["update.intake", "dispatcher.update", "dialog.run", "telegram.reply"]))

      const values = spans.flatMap((s) => Object.values(s.attributes).map(String))
      expect(values.some((v) => v.includes(secret))).toBe(false)
      const headerAttributes = server[0]!.attributes[`http.request.header.${secretHeader}`]
      expect(headerAttributes).toBe("<redacted>")
    }).pipe(
      Effect.provide(
        WebhookServerLive({ routes: metricsRoute }).pipe(
          Layer.provideMerge(testBot({ script: { classify: ["general"], think: ["ok"], synthesize: ["Hi!"] } })),
          Layer.provide(WebhookConfig.make({ secret: Option.some(Redacted.make(secret)) }))
        )
      ),
      Effect.provide(Layer.merge(tracing, httpTracingDefaults))
    ))
})
