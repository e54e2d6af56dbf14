import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, Metric, MetricBoundaries, TestClock } from "effect"
import { monitorEventLoop } from "../../src/observability/EventLoop.ts"
import { metricsServerOn } from "../../src/observability/MetricsServer.ts"
import { ReadinessProbesLive } from "../../src/observability/Readiness.ts"
import { latencyBoundaries, withTags } from "../../src/observability/Metrics.ts"
import { prometheusContentType, prometheusText, renderPrometheus } from "../../src/observability/Prometheus.ts"
import { TelegramApiError } from "../../src/telegram/TelegramApi.ts"
import { runUpdates, testBot, textMessage } from "../../src/testing/index.ts"

/** Samples of an exposition text: `name{labels}` → value. */
const samples = (text: string): ReadonlyMap<string, number> =>
  new Map(
    text.split("\n").filter((line) => line !== "" && !line.startsWith("#")).map((line) => {
      const at = line.lastIndexOf(" ")
      const value = line.slice(at + 1)
      return [line.slice(0, at), value === "+Inf" ? Number.POSITIVE_INFINITY : Number(value)] as const
    })
  )

const fetchText = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { status: response.status, type: response.headers.get("content-type"), body: await response.text() }
  })

describe("withTags", () => {
  it.effect("is one metric per tag set, the same series as Metric.tagged, and adds the fiber's metric labels", () =>
    Effect.gen(function*() {
      const counter = Metric.counter("with_tags_test_total", { incremental: true })
      expect(withTags(counter, { route: "a", code: "1" })).toBe(withTags(counter, { route: "a", code: "1" }))
      expect(withTags(counter, { route: "a", code: "1" })).not.toBe(withTags(counter, { route: "a", code: "2" }))
      yield* Metric.increment(withTags(counter, { route: "a", code: "1" }))
      yield* Metric.incrementBy(withTags(counter, { route: "a", code: "1" }), 2)
      yield* Metric.increment(withTags(counter, { route: "b", code: "1" }))
      const a1 = Metric.tagged(Metric.tagged(counter, "route", "a"), "code", "1")
      expect((yield* Metric.value(a1)).count).toBe(3)
      expect((yield* Metric.value(withTags(counter, { route: "a", code: "1" }))).count).toBe(3)
      expect((yield* Metric.value(withTags(counter, { route: "b", code: "1" }))).count).toBe(1)
      // The fiber's own metric labels (Effect.tagMetrics) join the fixed ones.
      yield* Metric.increment(withTags(counter, { route: "a", code: "1" })).pipe(Effect.tagMetrics("replica", "r1"))
      expect((yield* Metric.value(Metric.tagged(a1, "replica", "r1"))).count).toBe(1)
      expect((yield* Metric.value(a1)).count).toBe(3)
      // Mapped inputs (the duration histograms) pass the labels through.
      const seconds = Metric.histogram("with_tags_test_seconds", latencyBoundaries).pipe(
        Metric.mapInput((ms: number) => ms / 1000)
      )
      yield* Metric.update(withTags(seconds, { stage: "think" }), 250)
      const state = yield* Metric.value(Metric.tagged(seconds, "stage", "think"))
      expect(state.count).toBe(1)
      expect(state.sum).toBeCloseTo(0.25)
    }))
})

describe("renderPrometheus", () => {
  it.effect("renders counters, gauges, histograms, summaries and frequencies with labels, HELP and TYPE", () =>
    Effect.gen(function*() {
      const counter = Metric.counter("render.test-requests_total", { description: "Requests\nby route" })
      yield* Metric.incrementBy(Metric.tagged(counter, "route", "/a \"quoted\" \\ path"), 3)
      yield* Metric.increment(Metric.tagged(counter, "2nd-label", "x"))
      const gauge = Metric.gauge("render_test_gauge")
      yield* Metric.set(gauge, -2.5)
      const histogram = Metric.histogram("render_test_seconds", MetricBoundaries.fromIterable([0.1, 1]), "Latency")
      yield* Metric.update(Metric.tagged(histogram, "stage", "think"), 0.05)
      yield* Metric.update(Metric.tagged(histogram, "stage", "think"), 0.5)
      yield* Metric.update(Metric.tagged(histogram, "stage", "think"), 7)
      const summary = Metric.summary({
        name: "render_test_summary",
        maxAge: "1 minute",
        maxSize: 10,
        error: 0,
        quantiles: [0.5]
      })
      yield* Metric.update(summary, 4)
      const frequency = Metric.frequency("render_test_kinds")
      yield* Metric.update(frequency, "message")
      yield* Metric.update(frequency, "message")
      yield* Metric.update(frequency, "callback_query")

      const pairs = (yield* Metric.snapshot).filter((p) => p.metricKey.name.startsWith("render"))
      expect(renderPrometheus(pairs)).toBe([
        "# TYPE render_test_gauge gauge",
        "render_test_gauge -2.5",
        "# TYPE render_test_kinds counter",
        "render_test_kinds{key=\"callback_query\"} 1",
        "render_test_kinds{key=\"message\"} 2",
        "# HELP render_test_requests_total Requests\\nby route",
        "# TYPE render_test_requests_total counter",
        "render_test_requests_total{_2nd_label=\"x\"} 1",
        "render_test_requests_total{route=\"/a \\\"quoted\\\" \\\\ path\"} 3",
        "# HELP render_test_seconds Latency",
        "# TYPE render_test_seconds histogram",
        "render_test_seconds_bucket{stage=\"think\",le=\"0.1\"} 1",
        "render_test_seconds_bucket{stage=\"think\",le=\"1\"} 2",
        "render_test_seconds_bucket{stage=\"think\",le=\"+Inf\"} 3",
        "render_test_seconds_sum{stage=\"think\"} 7.55",
        "render_test_seconds_count{stage=\"think\"} 3",
        "# TYPE render_test_summary summary",
        "render_test_summary{quantile=\"0.5\"} 4",
        "render_test_summary_sum 4",
        "render_test_summary_count 1",
        ""
      ].join("\n"))
    }))

  it("renders nothing for no metrics", () => {
    expect(renderPrometheus([])).toBe("")
  })
})

describe("GET /metrics", () => {
  const notify = new TelegramApiError({ method: "sendMessage", errorCode: 500, description: "Internal Server Error" })
  let failedOnce = false

  it.live("is scraped over HTTP and counts what happened: updates, duplicates, outcomes, stages, tools, stores, Bot API errors, retries", () =>
    Effect.gen(function*() {
      const server = yield* HttpServer.HttpServer
      const address = server.address
      if (address._tag !== "TcpAddress") return yield* Effect.die("expected a TCP address")
      const base = `http://127.0.0.1:${address.port}`

      const before = samples((yield* fetchText(`${base}/metrics`)).body)
      const delivery = textMessage({ userId: 601, updateId: 9301, text: "How much is delivery?" })
      yield* runUpdates([
        delivery,
        delivery, // a redelivery: deduplicated
        textMessage({ userId: 602, updateId: 9302, text: "/start" }),
        textMessage({ userId: 603, updateId: 9303, text: "hello" })
      ])
      const scrape = yield* fetchText(`${base}/metrics`)
      expect(scrape.status).toBe(200)
      expect(scrape.type).toBe(prometheusContentType)
      const after = samples(scrape.body)
      const delta = (key: string) => (after.get(key) ?? 0) - (before.get(key) ?? 0)

      expect(delta("bot_updates_received_total{kind=\"message\"}")).toBe(4)
      expect(delta("bot_updates_deduplicated_total")).toBe(1)
      expect(delta("bot_updates_processed_total{outcome=\"answered\"}")).toBe(2)
      expect(delta("bot_updates_processed_total{outcome=\"command\"}")).toBe(1)
      expect(delta("bot_update_duration_seconds_count{outcome=\"answered\"}")).toBe(2)
      expect(delta("bot_dialogs_answered_total{dialog_stage=\"delivery\",fallback=\"false\"}")).toBe(1)
      expect(delta("bot_dialogs_answered_total{dialog_stage=\"general\",fallback=\"false\"}")).toBe(1)
      for (const stage of ["classify", "think", "synthesize"]) {
        expect(delta(`bot_stage_duration_seconds_count{stage="${stage}"}`)).toBe(2)
        expect(delta(`bot_stage_duration_seconds_bucket{stage="${stage}",le="+Inf"}`)).toBe(2)
      }
      expect(delta("bot_tool_calls_total{result=\"ok\",tool=\"search_knowledge_base\"}")).toBe(1)
      expect(delta("bot_store_duration_seconds_count{operation=\"record\",store=\"inbox\"}")).toBe(4)
      expect(delta("bot_store_duration_seconds_count{operation=\"markDone\",store=\"inbox\"}")).toBe(3)
      // Three replies; the first attempt of one failed with a 500 and was retried.
      expect(delta("bot_telegram_api_requests_total{method=\"sendMessage\"}")).toBe(4)
      expect(delta("bot_telegram_api_errors_total{code=\"500\",method=\"sendMessage\"}")).toBe(1)
      expect(delta("bot_retries_total{operation=\"telegram_send\"}")).toBe(1)
      expect(after.get("bot_inbox_pending")).toBe(0)
      expect(after.get("bot_dialogs_in_flight")).toBe(0)
      expect(scrape.body).toContain("# HELP bot_updates_processed_total Updates finished, by outcome\n")
      expect(scrape.body).toContain("# TYPE bot_stage_duration_seconds histogram\n")
      expect(scrape.body).toContain("# TYPE bot_updates_received_total counter\n")

      const health = yield* fetchText(`${base}/healthz`)
      expect([health.status, health.body]).toEqual([200, "ok\n"])
      expect((yield* fetchText(`${base}/nothing`)).status).toBe(404)
    }).pipe(
      Effect.provide(Layer.mergeAll(
        testBot({
          script: {
            classify: ["delivery", "general"],
            think: [{ toolCalls: [{ name: "search_knowledge_base", arguments: { query: "delivery" } }] }, "notes", "notes"],
            synthesize: ["Delivery is 4.90 EUR.", "Hi!"]
          },
          telegram: {
            onSend: () =>
              Effect.suspend(() => {
                if (failedOnce) return Effect.void
                failedOnce = true
                return Effect.fail(notify)
              })
          }
        }),
        metricsServerOn({ port: 0, host: "127.0.0.1" }).pipe(Layer.provide(ReadinessProbesLive)),
        Logger.minimumLogLevel(LogLevel.Warning)
      ))
    ))
})

describe("event loop delay", () => {
  it.scoped("is sampled into the gauge every interval", () =>
    Effect.gen(function*() {
      yield* monitorEventLoop({ interval: "1 second", resolutionMs: 10 })
      yield* TestClock.adjust("1 second")
      const text = yield* prometheusText
      const values = samples(text)
      for (const stat of ["max", "mean", "p50", "p99"]) {
        const value = values.get(`bot_event_loop_delay_seconds{stat="${stat}"}`)
        expect(value).toBeGreaterThanOrEqual(0)
        expect(Number.isFinite(value)).toBe(true)
      }
      expect(text).toContain("# TYPE bot_event_loop_delay_seconds gauge\n")
    }))
})
