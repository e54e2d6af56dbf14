import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { otlpTracing, tracesUrl } from "../../src/observability/Tracing.ts"
import { TraceSettings } from "../../src/observability/TraceSettings.ts"
import { runUpdates, testBot, textMessage } from "../../src/testing/index.ts"

/** Spans collected in memory through the same OpenTelemetry bridge the OTLP exporter uses. */
const collecting = () => {
  const exporter = new InMemorySpanExporter()
  const layer = NodeSdk.layer(() => ({
    resource: { serviceName: "dialog-bot-test" },
    spanProcessor: new SimpleSpanProcessor(exporter)
  }))
  return { exporter, layer }
}

const parentId = (span: ReadableSpan) => span.parentSpanContext?.spanId

const byName = (spans: ReadonlyArray<ReadableSpan>, name: string) => spans.filter((s) => s.name === name)

const only = (spans: ReadonlyArray<ReadableSpan>, name: string): ReadableSpan => {
  const found = byName(spans, name)
  expect(found.map((s) => s.name)).toEqual([name])
  return found[0]!
}

const script = {
  classify: ["delivery", "general"],
  think: [
    { toolCalls: [{ name: "search_knowledge_base", arguments: { query: "delivery" } }] },
    "notes",
    "notes"
  ],
  synthesize: ["Delivery is 4.90 EUR.", "You're welcome."]
}

describe("tracing", () => {
  it.effect("one update is one trace: intake → dispatcher → pipeline stages → tools, model, stores, Bot API", () => {
    const { exporter, layer } = collecting()
    return Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 501, updateId: 9001, text: "How much is delivery?" })])
      const spans = exporter.getFinishedSpans()

      const intake = only(spans, "update.intake")
      expect(parentId(intake)).toBeUndefined()
      expect(intake.attributes).toMatchObject({ update_id: 9001, chat_id: 501, kind: "message", duplicate: false })
      const traceId = intake.spanContext().traceId
      const trace = spans.filter((s) => s.spanContext().traceId === traceId)
      const idOf = (span: ReadableSpan) => span.spanContext().spanId
      const parentName = (span: ReadableSpan) => trace.find((s) => idOf(s) === parentId(span))?.name

      // The update's spans, and only they, are in its trace (recovery at start has its own).
      const others = spans.filter((s) => s.spanContext().traceId !== traceId).map((s) => s.name)
      expect(others).toEqual(["store.inbox.pending"])

      const dispatch = only(trace, "dispatcher.update")
      expect(parentName(dispatch)).toBe("update.intake")
      expect(dispatch.attributes).toMatchObject({ update_id: 9001, chat_id: 501, outcome: "answered", stage: "delivery" })
      expect(parentName(only(trace, "dialog.handle"))).toBe("dispatcher.update")
      expect(parentName(only(trace, "dialog.run"))).toBe("dialog.handle")
      for (const stage of ["dialog.classify", "dialog.think", "dialog.synthesize"]) {
        expect(parentName(only(trace, stage))).toBe("dialog.run")
      }
      expect(only(trace, "dialog.classify").attributes).toMatchObject({ stage: "delivery" })
      expect(only(trace, "dialog.think").attributes).toMatchObject({ stage: "delivery" })

      const tool = only(trace, "tool.execute")
      expect(parentName(tool)).toBe("dialog.think")
      expect(tool.attributes).toMatchObject({ tool: "search_knowledge_base", "tool.ok": true })

      const models = byName(trace, "llm.complete")
      expect(models.map((m) => [m.attributes["purpose"], parentName(m)])).toEqual([
        ["classify", "dialog.classify"],
        ["think", "dialog.think"],
        ["think", "dialog.think"],
        ["synthesize", "dialog.synthesize"]
      ])
      expect(models[0]!.attributes).toMatchObject({ model: "scripted", prompt_tokens: 10, completion_tokens: 5 })

      expect(parentName(only(trace, "store.inbox.record"))).toBe("update.intake")
      expect(parentName(only(trace, "store.inbox.markDone"))).toBe("dispatcher.update")
      expect(parentName(only(trace, "store.clients.getOrCreate"))).toBe("dialog.run")
      // The user's message, then the reply's, written with the turn's usage entries.
      expect(byName(trace, "store.history.append").map(parentName)).toEqual(["dialog.run", "store.usage.recordTurn"])
      expect(parentName(only(trace, "store.usage.recordTurn"))).toBe("dialog.run")
      expect(only(trace, "store.history.lastN").attributes).toMatchObject({
        "store.name": "history",
        "store.operation": "lastN"
      })
      expect(parentName(only(trace, "telegram.reply"))).toBe("dialog.run")
      // Each Bot API call has its span, named after the method, on whichever implementation.
      expect(parentName(only(trace, "telegram.sendMessage"))).toBe("telegram.reply")
      expect(only(trace, "telegram.sendMessage").attributes).toEqual({ "telegram.method": "sendMessage" })

      // No message text on any span unless TRACE_MESSAGE_TEXT says so.
      const texts = trace.flatMap((s) => Object.values(s.attributes)).filter((v) => typeof v === "string")
      expect(texts.some((t) => t.includes("delivery?") || t.includes("4.90"))).toBe(false)
    }).pipe(Effect.provide(testBot({ script })), Effect.provide(layer))
  })

  it.effect("two updates of one chat: each continues its own intake's trace", () => {
    const { exporter, layer } = collecting()
    return Effect.gen(function*() {
      yield* runUpdates([
        textMessage({ userId: 502, updateId: 9101, text: "How much is delivery?" }),
        textMessage({ userId: 502, updateId: 9102, text: "thanks" })
      ])
      const spans = exporter.getFinishedSpans()
      const intakes = byName(spans, "update.intake")
      const dispatches = byName(spans, "dispatcher.update")
      expect(intakes).toHaveLength(2)
      expect(dispatches).toHaveLength(2)
      for (const updateId of [9101, 9102]) {
        const intake = intakes.find((s) => s.attributes["update_id"] === updateId)!
        const dispatch = dispatches.find((s) => s.attributes["update_id"] === updateId)!
        expect(parentId(dispatch)).toBe(intake.spanContext().spanId)
        expect(dispatch.spanContext().traceId).toBe(intake.spanContext().traceId)
      }
      expect(new Set(intakes.map((s) => s.spanContext().traceId)).size).toBe(2)
    }).pipe(Effect.provide(testBot({ script })), Effect.provide(layer))
  })

  it.effect("updates received inside one long span (a poller's loop) still get a trace each, linked to it", () => {
    const { exporter, layer } = collecting()
    return Effect.gen(function*() {
      yield* runUpdates([
        textMessage({ userId: 505, updateId: 9111, text: "How much is delivery?" }),
        textMessage({ userId: 506, updateId: 9112, text: "thanks" })
      ]).pipe(Effect.withSpan("telegram.poller"))
      const spans = exporter.getFinishedSpans()
      const poller = only(spans, "telegram.poller")
      const intakes = byName(spans, "update.intake")
      expect(intakes.map(parentId)).toEqual([undefined, undefined])
      expect(new Set([...intakes, poller].map((s) => s.spanContext().traceId)).size).toBe(3)
      for (const intake of intakes) {
        expect(intake.links.map((l) => l.context.spanId)).toEqual([poller.spanContext().spanId])
      }
    }).pipe(Effect.provide(testBot({ script })), Effect.provide(layer))
  })

  it.effect("TRACE_MESSAGE_TEXT puts the user's text and the reply on the spans", () => {
    const { exporter, layer } = collecting()
    return Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 503, text: "How much is delivery?" })])
      const spans = exporter.getFinishedSpans()
      expect(only(spans, "dialog.run").attributes["message.text"]).toBe("How much is delivery?")
      expect(only(spans, "telegram.reply").attributes["reply.text"]).toBe("Delivery is 4.90 EUR.")
    }).pipe(
      Effect.provide(testBot({ script })),
      Effect.provide(Layer.merge(layer, TraceSettings.make({ messageText: true })))
    )
  })

  it("tracesUrl appends /v1/traces unless the traces endpoint is given", () => {
    expect(tracesUrl("http://collector:4318/", Option.none())).toBe("http://collector:4318/v1/traces")
    expect(tracesUrl("http://collector:4318", Option.some("http://other/x"))).toBe("http://other/x")
  })

  it.scopedLive("exports the spans to an OTLP/HTTP collector and flushes them at shutdown", () =>
    Effect.gen(function*() {
      const bodies: Array<{ readonly path: string; readonly type: string; readonly body: string }> = []
      const server = yield* Effect.acquireRelease(
        Effect.async<Http.Server>((resume) => {
          const s = Http.createServer((req, res) => {
            const chunks: Array<Buffer> = []
            req.on("data", (c: Buffer) => chunks.push(c))
            req.on("end", () => {
              bodies.push({ path: req.url ?? "", type: req.headers["content-type"] ?? "", body: Buffer.concat(chunks).toString() })
              res.writeHead(200, { "content-type": "application/json" })
              res.end("{}")
            })
          })
          s.listen(0, "127.0.0.1", () => resume(Effect.succeed(s)))
          return undefined
        }),
        (s) =>
          Effect.async<void>((resume) => {
            s.close(() => resume(Effect.void))
          })
      )
      const port = (server.address() as AddressInfo).port

      yield* runUpdates([textMessage({ userId: 504, updateId: 9201, text: "How much is delivery?" })]).pipe(
        Effect.provide(testBot({ script })),
        Effect.provide(otlpTracing({ url: `http://127.0.0.1:${port}/v1/traces`, serviceName: "dialog-bot-test" }))
      )

      expect(bodies.length).toBeGreaterThan(0)
      expect(bodies.every((b) => b.path === "/v1/traces" && b.type.startsWith("application/json"))).toBe(true)
      interface Exported {
        readonly resourceSpans: ReadonlyArray<{
          readonly resource: { readonly attributes: ReadonlyArray<{ readonly key: string; readonly value: { readonly stringValue?: string } }> }
          readonly scopeSpans: ReadonlyArray<{ readonly spans: ReadonlyArray<{ readonly name: string; readonly traceId: string }> }>
        }>
      }
      const exported = bodies.map((b) => JSON.parse(b.body) as Exported)
      const resources = exported.flatMap((e) => e.resourceSpans)
      const names = resources.flatMap((r) => r.scopeSpans.flatMap((s) => s.spans.map((span) => span.name)))
      expect(names).toEqual(expect.arrayContaining([
        "update.intake",
        "dispatcher.update",
        "dialog.handle",
        "dialog.run",
        "dialog.classify",
        "dialog.think",
        "dialog.synthesize",
        "tool.execute",
        "llm.complete",
        "store.inbox.record",
        "telegram.reply"
      ]))
      const service = resources[0]!.resource.attributes.find((a) => a.key === "service.name")
      expect(service?.value.stringValue).toBe("dialog-bot-test")
    }))
})
