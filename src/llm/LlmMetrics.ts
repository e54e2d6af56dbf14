/**
 * Metrics of the language model: tokens per stage and model, call latency, outcomes and
 * retries. Every metric is tagged `purpose` (classify, think, synthesize) and `model`.
 */
import { Cause, Clock, Context, Effect, FiberRef, Metric, MetricBoundaries, type MetricLabel } from "effect"
import { updateMetric, withTags } from "../observability/Metrics.ts"
import type { CompletionResponse, LanguageModelError, LanguageModelService, Purpose, Usage } from "./LanguageModel.ts"

export const promptTokens = Metric.counter("llm_prompt_tokens_total", {
  description: "Prompt tokens sent to the language model",
  incremental: true
})

export const completionTokens = Metric.counter("llm_completion_tokens_total", {
  description: "Completion tokens received from the language model",
  incremental: true
})

/**
 * Tokens by model, pipeline step (`stage`: classify, think, synthesize, transcribe) and
 * `kind`: `prompt`, `cached_prompt` (part of prompt), `completion`, `reasoning` (part of completion).
 */
export const tokens = Metric.counter("bot_llm_tokens_total", {
  description: "Tokens of the language model's calls, by model, pipeline step and kind",
  incremental: true
})

/** Adds a call's tokens to `bot_llm_tokens_total` with the fiber's metric `labels`. */
const addTokens = (stage: string, model: string, usage: Usage, labels: ReadonlyArray<MetricLabel.MetricLabel>): void => {
  const add = (kind: string, n: number) => {
    if (n > 0) withTags(tokens, { model, stage, kind }).unsafeUpdate(n, labels)
  }
  add("prompt", usage.promptTokens)
  add("cached_prompt", usage.cachedPromptTokens)
  add("completion", usage.completionTokens)
  add("reasoning", usage.reasoningTokens)
}

/** Adds a call's tokens to `bot_llm_tokens_total`; kinds the endpoint did not report are left alone. */
export const countTokens = (stage: string, model: string, usage: Usage): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) => {
    addTokens(stage, model, usage, fiber.getFiberRef(FiberRef.currentMetricLabels))
    return Effect.void
  })

export const calls = Metric.counter("llm_calls_total", {
  description: "Completions asked of the language model, by outcome (ok, error)",
  incremental: true
})

/**
 * Calls by endpoint (`provider`: `primary`, `fallback`) and `outcome`: `ok`, `error`, or
 * `skipped` (the primary's breaker was open: the call went to the fallback without trying it).
 */
export const providerCalls = Metric.counter("bot_llm_calls_total", {
  description: "Model calls by endpoint (primary, fallback) and outcome (ok, error, skipped)",
  incremental: true
})

export type Provider = "primary" | "fallback"

export const countProviderCall = (provider: Provider, outcome: "ok" | "error" | "skipped") =>
  updateMetric(withTags(providerCalls, { provider, outcome }), 1)

/** `call` counted in `bot_llm_calls_total` under `provider` (an interrupted call is not counted). */
export const countedAs = (provider: Provider) => <A, E, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) => {
    const count = (outcome: "ok" | "error") =>
      withTags(providerCalls, { provider, outcome }).unsafeUpdate(1, fiber.getFiberRef(FiberRef.currentMetricLabels))
    return Effect.matchCauseEffect(call, {
      onSuccess: (a) => {
        count("ok")
        return Effect.succeed(a)
      },
      onFailure: (cause) => {
        if (!Cause.isInterrupted(cause)) count("error")
        return Effect.failCause(cause)
      }
    })
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

/** A call's tokens in the token counters, with the fiber's metric `labels`. */
const addUsage = (purpose: Purpose, model: string, usage: Usage, labels: ReadonlyArray<MetricLabel.MetricLabel>): void => {
  tagged(promptTokens, purpose, model).unsafeUpdate(usage.promptTokens, labels)
  tagged(completionTokens, purpose, model).unsafeUpdate(usage.completionTokens, labels)
  addTokens(purpose, model, usage, labels)
}

export const recordRetry = (purpose: Purpose, model: string) => updateMetric(tagged(retries, purpose, model), 1)

/**
 * The same model with its calls measured: latency, outcome and tokens of every completion,
 * whole or streamed. `modelOf` names the model a purpose is sent to (the tag of a failed call too).
 */
export const withMetrics = (
  service: LanguageModelService,
  modelOf: (purpose: Purpose) => string
): LanguageModelService => {
  // One frame per call (the clock and the metric labels read once, everything recorded in place):
  // its duration whatever the outcome, its tokens and `ok` once answered, `error` once failed.
  const measured = (purpose: Purpose, call: Effect.Effect<CompletionResponse, LanguageModelError>) =>
    Effect.withFiberRuntime<CompletionResponse, LanguageModelError>((fiber) => {
      const model = modelOf(purpose)
      const clock = Context.get(fiber.currentDefaultServices, Clock.Clock)
      const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
      const started = clock.unsafeCurrentTimeMillis()
      const took = () => tagged(callDuration, purpose, model).unsafeUpdate((clock.unsafeCurrentTimeMillis() - started) / 1000, labels)
      return Effect.matchCauseEffect(call, {
        onSuccess: (response) => {
          took()
          addUsage(purpose, model, response.usage, labels)
          withTags(calls, { purpose, model, outcome: "ok" }).unsafeUpdate(1, labels)
          return Effect.succeed(response)
        },
        onFailure: (cause) => {
          took()
          if (!Cause.isInterrupted(cause)) withTags(calls, { purpose, model, outcome: "error" }).unsafeUpdate(1, labels)
          return Effect.failCause(cause)
        }
      })
    })
  const stream = service.stream
  return {
    description: service.description,
    complete: (request) => measured(request.purpose, service.complete(request)),
    ...(stream === undefined ? {} : { stream: (request, onText) => measured(request.purpose, stream(request, onText)) })
  }
}
