/**
 * Metrics of the language model: tokens per stage and model, call latency, outcomes and
 * retries. Every metric is tagged `purpose` (classify, think, synthesize) and `model`.
 */
import { Clock, Effect, Exit, FiberRef, Metric, MetricBoundaries } from "effect"
import { withTags } from "../observability/Metrics.ts"
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

/** Adds a call's tokens to `bot_llm_tokens_total`; kinds the endpoint did not report are left alone. */
export const countTokens = (stage: string, model: string, usage: Usage): Effect.Effect<void> =>
  FiberRef.getWith(FiberRef.currentMetricLabels, (labels) =>
    Effect.sync(() => {
      const add = (kind: string, n: number) => {
        if (n > 0) withTags(tokens, { model, stage, kind }).unsafeUpdate(n, labels)
      }
      add("prompt", usage.promptTokens)
      add("cached_prompt", usage.cachedPromptTokens)
      add("completion", usage.completionTokens)
      add("reasoning", usage.reasoningTokens)
    }))

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
  Metric.increment(withTags(providerCalls, { provider, outcome }))

/** `call` counted in `bot_llm_calls_total` under `provider` (an interrupted call is not counted). */
export const countedAs = (provider: Provider) => <A, E, R>(call: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.onExit(call, (exit) =>
    Exit.isSuccess(exit)
      ? countProviderCall(provider, "ok")
      : Exit.isInterrupted(exit)
      ? Effect.void
      : countProviderCall(provider, "error"))

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
    Metric.update(tagged(completionTokens, purpose, model), usage.completionTokens),
    countTokens(purpose, model, usage)
  ], { discard: true })

export const recordRetry = (purpose: Purpose, model: string) =>
  Metric.increment(tagged(retries, purpose, model))

/**
 * The same model with its calls measured: latency, outcome and tokens of every completion,
 * whole or streamed. `modelOf` names the model a purpose is sent to (the tag of a failed call too).
 */
export const withMetrics = (
  service: LanguageModelService,
  modelOf: (purpose: Purpose) => string
): LanguageModelService => {
  const measured = (purpose: Purpose, call: Effect.Effect<CompletionResponse, LanguageModelError>) =>
    Effect.gen(function*() {
      const model = modelOf(purpose)
      const started = yield* Clock.currentTimeMillis
      const exit = yield* Effect.exit(call)
      const seconds = ((yield* Clock.currentTimeMillis) - started) / 1000
      yield* Metric.update(tagged(callDuration, purpose, model), seconds)
      if (Exit.isSuccess(exit)) {
        yield* recordUsage(purpose, model, exit.value.usage)
        yield* Metric.increment(withTags(calls, { purpose, model, outcome: "ok" }))
      } else if (!Exit.isInterrupted(exit)) {
        yield* Metric.increment(withTags(calls, { purpose, model, outcome: "error" }))
      }
      return yield* exit
    })
  const stream = service.stream
  return {
    description: service.description,
    complete: (request) => measured(request.purpose, service.complete(request)),
    ...(stream === undefined ? {} : { stream: (request, onText) => measured(request.purpose, stream(request, onText)) })
  }
}
