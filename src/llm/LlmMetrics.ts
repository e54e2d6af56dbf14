/**
 * Metrics of the language model: tokens per stage and model, call latency, outcomes and
 * retries. Every metric is tagged `purpose` (classify, think, synthesize) and `model`.
 */
import { Clock, Effect, Exit, Metric, MetricBoundaries, Stream } from "effect"
import { withTags } from "../observability/Metrics.ts"
import type { LanguageModelService, Purpose, Usage } from "./LanguageModel.ts"

export const promptTokens = Metric.counter("llm_prompt_tokens_total", {
  description: "Prompt tokens sent to the language model",
  incremental: true
})

export const completionTokens = Metric.counter("llm_completion_tokens_total", {
  description: "Completion tokens received from the language model",
  incremental: true
})

export const calls = Metric.counter("llm_calls_total", {
  description: "Completions asked of the language model, by outcome (ok, error)",
  incremental: true
})

export const callDuration = Metric.histogram(
  "llm_call_duration_seconds",
  MetricBoundaries.fromIterable([0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120]),
  "Time of one completion including its retries, in seconds"
)

export const retries = Metric.counter("llm_retries_total", {
  description: "Requests to the language model repeated after a transient failure",
  incremental: true
})

const tagged = <Type, Out>(
  metric: Metric.Metric<Type, number, Out>,
  purpose: Purpose,
  model: string
): Metric.Metric<Type, number, Out> => withTags(metric, { purpose, model })

export const recordUsage = (purpose: Purpose, model: string, usage: Usage) =>
  Effect.all([
    Metric.update(tagged(promptTokens, purpose, model), usage.promptTokens),
    Metric.update(tagged(completionTokens, purpose, model), usage.completionTokens)
  ], { discard: true })

export const recordRetry = (purpose: Purpose, model: string) =>
  Metric.increment(tagged(retries, purpose, model))

/**
 * The same model with its calls measured: latency, outcome and tokens of every completion.
 * `modelOf` names the model a purpose is sent to (the tag of a failed call too).
 */
export const withMetrics = (
  service: LanguageModelService,
  modelOf: (purpose: Purpose) => string
): LanguageModelService => ({
  description: service.description,
  complete: (request) =>
    Effect.gen(function*() {
      const model = modelOf(request.purpose)
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(service.complete(request))
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      yield* Metric.update(tagged(callDuration, request.purpose, model), seconds)
      if (Exit.isSuccess(exit)) {
        yield* recordUsage(request.purpose, model, exit.value.usage)
        yield* Metric.increment(withTags(calls, { purpose: request.purpose, model, outcome: "ok" }))
      } else if (!Exit.isInterrupted(exit)) {
        yield* Metric.increment(withTags(calls, { purpose: request.purpose, model, outcome: "error" }))
      }
      return yield* exit
    }),
  // A streamed call counts when it finishes: its usage from the last chunk, its duration to it.
  ...(service.stream === undefined ? {} : { stream: streamWithMetrics(service.stream, modelOf) })
})

const streamWithMetrics = (
  inner: NonNullable<LanguageModelService["stream"]>,
  modelOf: (purpose: Purpose) => string
): NonNullable<LanguageModelService["stream"]> =>
(request) => {
  const model = modelOf(request.purpose)
  const outcome = (ok: boolean) => Metric.increment(withTags(calls, { purpose: request.purpose, model, outcome: ok ? "ok" : "error" }))
  return Stream.unwrap(Effect.map(Clock.currentTimeMillis, (started) =>
    inner(request).pipe(
      Stream.tap((chunk) =>
        chunk._tag === "Finished"
          ? Effect.gen(function*() {
            const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
            yield* Metric.update(tagged(callDuration, request.purpose, model), seconds)
            yield* recordUsage(request.purpose, model, chunk.usage)
            yield* outcome(true)
          })
          : Effect.void
      ),
      Stream.tapError(() => outcome(false))
    )))
}
