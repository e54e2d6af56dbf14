/**
 * The bot's metrics, defined once with effect's `Metric` module (the model's latency and tokens
 * live in `src/llm/LlmMetrics.ts`). Every metric is in effect's global registry, so
 * `Metric.snapshot` — and the `/metrics` endpoint rendering it — sees all of them.
 *
 * Names follow Prometheus habits: `bot_` prefix, counters end in `_total`, durations are
 * histograms in seconds. Label values are small closed sets (outcome, stage, tool, method,
 * error code), never user data.
 */
import { Array as Arr, Cause, Clock, Context, Duration, Effect, FiberRef, Metric, MetricBoundaries, MetricLabel, type Tracer } from "effect"
import { around } from "../effect/locallyAll.ts"

/** Histogram buckets for latencies, 5 ms … ~82 s. */
export const latencyBoundaries = MetricBoundaries.exponential({ start: 0.005, factor: 2, count: 15 })

const seconds = (name: string, description: string) =>
  Metric.histogram(name, latencyBoundaries, description).pipe(
    Metric.mapInput((duration: Duration.Duration) => Duration.toSeconds(duration))
  )

// ── intake and dispatch ───────────────────────────────────────────────────────────────────────

/**
 * Updates handed to the dispatcher (webhook, poller, replay) and recorded in the inbox, by update
 * kind: a delivery refused because the store is down is not received (Telegram delivers it again).
 */
export const updatesReceived = Metric.counter("bot_updates_received_total", {
  description: "Updates handed to the dispatcher and recorded, by update kind",
  incremental: true
})

/** Answers of the webhook route, by HTTP status (`code`): 200 acknowledged, 5xx delivered again by Telegram. */
export const webhookResponses = Metric.counter("bot_webhook_responses_total", {
  description: "Webhook answers, by HTTP status code",
  incremental: true
})

/** Updates whose update_id was recorded before (Telegram redelivery): nothing scheduled. */
export const updatesDeduplicated = Metric.counter("bot_updates_deduplicated_total", {
  description: "Updates ignored because their update_id was seen before",
  incremental: true
})

/** Pending inbox entries queued again when the dispatcher started. */
/** Updates dropped by flood protection (a user sending faster than the token bucket allows). */
export const updatesFlooded = Metric.counter("bot_updates_flooded_total", {
  description: "Updates dropped by flood protection",
  incremental: true
})

export const updatesRecovered = Metric.counter("bot_updates_recovered_total", {
  description: "Pending inbox entries queued again at start",
  incremental: true
})

export const messagesNotResent = Metric.counter("bot_messages_not_resent_total", {
  description: "Messages of a recovered update not sent again: an earlier run had delivered them",
  incremental: true
})

/**
 * Updates finished, by outcome: `answered`, `command`, `replied`, `skipped`, `membership`,
 * `blocked` (the user blocked the bot), `failed` (apology sent), `deadline` (apology sent).
 */
export const updatesProcessed = Metric.counter("bot_updates_processed_total", {
  description: "Updates finished, by outcome",
  incremental: true
})

/** Dialogs answered by the model, by dialog stage and whether a fallback was used. */
export const dialogsAnswered = Metric.counter("bot_dialogs_answered_total", {
  description: "Dialogs answered by the pipeline, by dialog stage and fallback",
  incremental: true
})

/** Reactions on the bot's answers kept as feedback, by kind (positive, negative). */
export const feedbackReceived = Metric.counter("bot_feedback_total", {
  description: "Reactions on the bot's answers kept as feedback, by kind",
  incremental: true
})

/** Updates running right now (holding one of the MAX_CONCURRENT_DIALOGS permits). */
export const dialogsInFlight = Metric.gauge("bot_dialogs_in_flight", {
  description: "Updates being handled right now"
})

/** Updates recorded in the inbox and not finished yet (queued or running). */
export const inboxPending = Metric.gauge("bot_inbox_pending", {
  description: "Updates recorded in the inbox and not finished yet (queued or running)"
})

/** Time from the start of an update's handling to its outcome (after waiting for a permit). */
export const updateDuration = seconds(
  "bot_update_duration_seconds",
  "Time to handle one update, by outcome"
)

/** Time from intake to the start of handling (the chat's mailbox and the global limit). */
export const updateQueueDuration = seconds(
  "bot_update_queue_seconds",
  "Time an update waited between intake and the start of its handling"
)

// ── pipeline ──────────────────────────────────────────────────────────────────────────────────

/** Latency of one pipeline stage: `classify`, `think`, `synthesize`. */
export const stageDuration = seconds("bot_stage_duration_seconds", "Latency of one pipeline stage")

/** Tool calls, by tool and result (`ok` or `error`). */
export const toolCalls = Metric.counter("bot_tool_calls_total", {
  description: "Tool calls, by tool and result",
  incremental: true
})

/** Latency of one tool call, by tool. */
export const toolDuration = seconds("bot_tool_duration_seconds", "Latency of one tool call")

// ── stores ────────────────────────────────────────────────────────────────────────────────────

/** Latency of one store call, by store and operation. */
export const storeDuration = seconds("bot_store_duration_seconds", "Latency of one store call")

/** Store calls that failed, by store and operation. */
export const storeErrors = Metric.counter("bot_store_errors_total", {
  description: "Store calls that failed, by store and operation",
  incremental: true
})

// ── Telegram Bot API ──────────────────────────────────────────────────────────────────────────

/** Bot API calls, by method (every attempt, retries included). */
export const telegramRequests = Metric.counter("bot_telegram_api_requests_total", {
  description: "Bot API calls, by method (every attempt)",
  incremental: true
})

/** Bot API calls that failed, by method and code (`error_code`, or `transport` when there was no answer). */
export const telegramErrors = Metric.counter("bot_telegram_api_errors_total", {
  description: "Bot API calls that failed, by method and error code",
  incremental: true
})

/** Latency of one Bot API call, by method. */
export const telegramDuration = seconds("bot_telegram_api_duration_seconds", "Latency of one Bot API call")

// ── retries and the runtime ───────────────────────────────────────────────────────────────────

/** Retries, by operation (`telegram_send`, `dispatcher_store`, …). */
export const retries = Metric.counter("bot_retries_total", {
  description: "Retries of failed operations, by operation",
  incremental: true
})

/** Event loop delay measured by `perf_hooks.monitorEventLoopDelay`, by statistic (`p50`, `p99`, `max`, `mean`). */
export const eventLoopDelay = Metric.gauge("bot_event_loop_delay_seconds", {
  description: "Event loop delay over the last sampling interval, by statistic"
})

// ── helpers ───────────────────────────────────────────────────────────────────────────────────

/** The tagged metrics made so far, by metric and tags (label values are small closed sets). */
const taggedMetrics = new WeakMap<object, Map<string, unknown>>()

/**
 * The metric with the given tags (labels) added, made once per metric and tags. The labels are
 * one array for the life of the process: effect's metrics find a key's registry entry by the
 * identity of its label array, so the same array is a cache hit, where `Metric.tagged` passes a
 * new array on every update (a new key built, its description formatted and hashed, compared
 * in the registry: issue 15 measured ~8 % of W1's CPU there).
 */
export const withTags = <Type, In, Out>(
  metric: Metric.Metric<Type, In, Out>,
  tags: Readonly<Record<string, string>>
): Metric.Metric<Type, In, Out> => {
  let byTags = taggedMetrics.get(metric)
  if (byTags === undefined) {
    byTags = new Map()
    taggedMetrics.set(metric, byTags)
  }
  let key = ""
  for (const name in tags) key += `${name}\u0000${tags[name]}\u0001`
  const known = byTags.get(key) as Metric.Metric<Type, In, Out> | undefined
  if (known !== undefined) return known
  const labels = Object.entries(tags).map(([name, value]) => MetricLabel.make(name, value))
  const withLabels = (extra: ReadonlyArray<MetricLabel.MetricLabel>) =>
    extra.length === 0 ? labels : Arr.union(labels, extra)
  const made = Metric.make(
    metric.keyType,
    (input: In, extra) => metric.unsafeUpdate(input, withLabels(extra)),
    (extra) => metric.unsafeValue(withLabels(extra)),
    (input: In, extra) => metric.unsafeModify(input, withLabels(extra))
  )
  byTags.set(key, made)
  return made
}

/**
 * `Metric.update(metric, input)` in one runtime step: the fiber's metric labels read in place
 * (effect's reads them in a step of its own, then updates in a third).
 */
export const updateMetric = <Type, In, Out>(metric: Metric.Metric<Type, In, Out>, input: In): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    metric.unsafeUpdate(input, fiber.getFiberRef(FiberRef.currentMetricLabels))
    return Effect.void
  })

/**
 * `self` counted in `gauge` while it runs: one up before it, one down after it however it ends,
 * with the fiber's metric labels, in one frame (`acquireUseRelease` of `Metric.increment` and
 * `Metric.modify` takes about twenty runtime steps).
 */
export const countedWhile = (gauge: Metric.Metric.Gauge<number>) =>
  around((fiber) => {
    const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
    gauge.unsafeModify(1, labels)
    return () => gauge.unsafeModify(-1, labels)
  })

/** Counts one retry of `operation`. */
export const countRetry = (operation: string): Effect.Effect<void> => updateMetric(withTags(retries, { operation }), 1)

/**
 * `Metric.trackDuration(duration)` and `Effect.tapError` counting `failures`, in two runtime steps
 * where the two take about ten (the clock and the fiber's metric labels read at once, one frame
 * for both outcomes): a store call, a Bot API call and a stage each run it. As with those two,
 * a success records its duration (by effect's `Clock`, so `TestClock` in the tests), a failure
 * of the effect's error type counts one, and a defect or an interruption records neither.
 * With `span`, the call is also that span when the fiber traces (a store call, a Bot API call).
 */
export const measured = <Failure = unknown, Type = unknown, Out = unknown>(
  duration: Metric.Metric<Type, Duration.Duration, Out>,
  failures?: (error: Failure) => Metric.Metric.Counter<number>,
  span?: MeasuredSpan
) =>
<A, E extends Failure, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) => {
    const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
    const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
    const start = clock.unsafeCurrentTimeNanos()
    const timed = Effect.matchCauseEffect(effect, {
      onFailure: (cause) => {
        if (failures !== undefined) {
          const failure = Cause.failureOption(cause)
          if (failure._tag === "Some") failures(failure.value).unsafeUpdate(1, labels)
        }
        return Effect.failCause(cause)
      },
      onSuccess: (value) => {
        duration.unsafeUpdate(Duration.nanos(clock.unsafeCurrentTimeNanos() - start), labels)
        return Effect.succeed(value)
      }
    })
    // The span in the same step, when the fiber traces (`withSpan` of `span.ts` would take one more).
    return span !== undefined && fiber.getFiberRef(FiberRef.currentTracerEnabled)
      ? Effect.withSpan(timed, span.name, span.options)
      : timed
  })

/** The span `measured` puts around the call when tracing is on (as `withSpan` of `span.ts`). */
export interface MeasuredSpan {
  readonly name: string
  readonly options?: Tracer.SpanOptions
}

/** Records the duration of `effect` as the latency of a pipeline stage. */
export const timeStage = (stage: string) => measured(withTags(stageDuration, { stage }))
