/**
 * The live language model: the `openai` SDK's `chat.completions.create` against any
 * OpenAI-compatible endpoint (OpenAI, vLLM, Ollama, llama.cpp server, LiteLLM), with tools.
 *
 * The SDK's own retries are off: transient failures (408, 409, 429, 5xx, timeouts, connection
 * errors) are retried here by one `Schedule`, which waits what `retry-after-ms` / `retry-after`
 * ask (capped) and backs off exponentially with jitter otherwise. Each request gets the
 * fiber's `AbortSignal`, so a deadline or a shutdown cancels the HTTP request. Responses are
 * decoded with a Schema; a response without choices or one that cannot be read is a
 * `LanguageModelError`. The key never appears in a description, a log line or an error.
 * The retry policy is in `OpenAiRetry.ts`, the request and response mapping in `OpenAiWire.ts`.
 * With a fallback endpoint configured, the calls the primary fails go to it (`FallbackModel.ts`).
 */
import { keepAliveFetch } from "../http/keepAliveFetch.ts"
import OpenAI from "openai"
import type { ChatCompletionCreateParamsNonStreaming } from "openai/resources/chat/completions"
import { Duration, Effect, Layer, Option, ParseResult, Redacted, Schedule, ScheduleDecision } from "effect"
import {
  type CompletionRequest,
  type CompletionResponse,
  LanguageModel,
  LanguageModelError,
  type LanguageModelService,
  type Purpose
} from "./LanguageModel.ts"
import { describeLlm, fallbackConfig, LlmConfig, type LlmConfigShape, modelFor, publicEndpoint } from "./LlmConfig.ts"
import { recordRetry, withMetrics } from "./LlmMetrics.ts"
import { isOutage, type RetryPolicy, retrySchedule, sdkAttempt } from "./OpenAiRetry.ts"
import { primaryBreakerOptions, primaryOnly, withFallback } from "./FallbackModel.ts"
import { makeBreaker } from "../effect/Breaker.ts"
import { openAiStream } from "./OpenAiStream.ts"
import { decodeCompletion, fromWire, maxToolCallsPerResponse, toWireMessages, toWireTools } from "./OpenAiWire.ts"
import { callSpan } from "./callSpan.ts"
import { retryLazily } from "../effect/retryLazily.ts"

/** Sent as the key to endpoints that need none (the SDK insists on one). */
export const placeholderKey = "no-key"

/** An error message safe to log: the key (if any) replaced, and not endless. */
export const scrub = (message: string, key: Option.Option<Redacted.Redacted<string>>): string => {
  const secret = Option.match(key, { onNone: () => "", onSome: Redacted.value })
  const clean = secret.length >= 4 ? message.split(secret).join("<redacted>") : message
  return clean.length > 500 ? `${clean.slice(0, 500)}…` : clean
}

/** One endpoint's model on `config`, its requests retried by `policy`, its calls measured. */
const makeEndpoint = (config: LlmConfigShape, policy: RetryPolicy) =>
  Effect.gen(function*() {
    const baseURL = publicEndpointOrConfigured(config)
    const client = yield* Effect.sync(() =>
      new OpenAI({
        apiKey: Option.match(config.apiKey, { onNone: () => placeholderKey, onSome: Redacted.value }),
        baseURL,
        maxRetries: 0,
        // The per-request deadline is ours (below); the SDK's only backs it up.
        timeout: Math.ceil(Duration.toMillis(config.timeout)) + 1000,
        logLevel: "off",
        // Whole answers and streamed ones (server-sent events, handed on as they arrive).
        fetch: keepAliveFetch
      })
    )
    const timeoutMs = Duration.toMillis(config.timeout)
    const isOpenAi = new URL(baseURL).host === "api.openai.com"

    const body = (request: CompletionRequest, model: string): ChatCompletionCreateParamsNonStreaming => ({
      model,
      messages: toWireMessages(request.messages, config.toolResultChars),
      ...(request.tools !== undefined && request.tools.length > 0 ? { tools: toWireTools(request.tools) } : {}),
      ...(request.cacheKey === undefined ? {} : { prompt_cache_key: request.cacheKey }),
      ...Option.match(config.temperature, { onNone: () => ({}), onSome: (temperature) => ({ temperature }) }),
      // OpenAI's newer models take only `max_completion_tokens`; other servers know `max_tokens`.
      ...Option.match(config.maxOutputTokens, {
        onNone: () => ({}),
        onSome: (n) => (isOpenAi ? { max_completion_tokens: n } : { max_tokens: n })
      })
    })

    /** One HTTP request with its deadline; interrupting the fiber aborts it. */
    const attempt = (params: ChatCompletionCreateParamsNonStreaming) =>
      sdkAttempt(timeoutMs, (signal) => client.chat.completions.create(params, { signal, maxRetries: 0 }))

    const failWith = (purpose: Purpose) => (message: string, status: Option.Option<number> = Option.none(), outage = false) =>
      new LanguageModelError({
        purpose,
        message: scrub(message, config.apiKey),
        ...Option.match(status, { onNone: () => ({}), onSome: (s) => ({ status: s }) }),
        ...(outage ? { outage } : {})
      })
    const scheduleFor = (purpose: Purpose, model: string) =>
      retrySchedule(policy).pipe(
        Schedule.onDecision(([[failure]], decision) =>
          ScheduleDecision.isContinue(decision)
            ? Effect.zipRight(
              recordRetry(purpose, model),
              Effect.logWarning(`model call failed, retrying: ${scrub(failure.message, config.apiKey)}`).pipe(
                Effect.annotateLogs({ purpose, model })
              )
            )
            : Effect.void
        )
      )

    const complete = (request: CompletionRequest): Effect.Effect<CompletionResponse, LanguageModelError> => {
      const model = request.model ?? modelFor(config, request.purpose)
      const fail = failWith(request.purpose)
      const schedule = scheduleFor(request.purpose, model)
      return attempt(body(request, model)).pipe(
        retryLazily(schedule),
        Effect.mapError((failure) => fail(failure.message, failure.status, isOutage(failure))),
        Effect.flatMap((raw) => {
          const decoded = decodeCompletion(raw)
          if (decoded._tag === "Left") {
            return Effect.fail(fail(`unreadable response: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`))
          }
          const asked = decoded.right.choices[0]?.message.tool_calls?.length ?? 0
          const ignored = asked > maxToolCallsPerResponse
            ? Effect.logWarning(`the model asked for ${asked} tool calls at once; those after ${maxToolCallsPerResponse} were ignored`)
              .pipe(Effect.annotateLogs({ purpose: request.purpose, model }))
            : Effect.void
          return Option.match(fromWire(decoded.right, model), {
            onNone: () => Effect.fail(fail("the response has no choices")),
            onSome: (response) => Effect.as(ignored, response)
          })
        }),
        // The log lines of a call are annotated where they are written: annotating the whole
        // call sets and resets the fiber's log annotations on every call (issue 15).
        callSpan(request.purpose, model)
      )
    }

    /** The same request streamed (`OpenAiStream.ts`): retried only until its first chunk. */
    const stream: NonNullable<LanguageModelService["stream"]> = (request, onText) => {
      const model = request.model ?? modelFor(config, request.purpose)
      return openAiStream(
        { client, timeout: config.timeout, schedule: scheduleFor(request.purpose, model), fail: failWith(request.purpose) },
        body(request, model),
        onText
      ).pipe(callSpan(request.purpose, model, true))
    }

    const service: LanguageModelService = { description: describeLlm(config), complete, stream }
    return withMetrics(service, (purpose: Purpose) => modelFor(config, purpose))
  })

/** A request without the model a user chose: the fallback asks its own. */
const withoutChosenModel = ({ model: _chosen, ...request }: CompletionRequest): CompletionRequest => request

/** The live model on `config`: the primary endpoint, and the fallback behind it when one is configured. */
export const makeOpenAiModel = (config: LlmConfigShape): Effect.Effect<LanguageModelService> =>
  Effect.map(endpoints(config), (service) => ({
    ...service,
    modelOf: (request: CompletionRequest) => request.model ?? modelFor(config, request.purpose)
  }))

const endpoints = (config: LlmConfigShape): Effect.Effect<LanguageModelService> =>
  Option.match(fallbackConfig(config), {
    onNone: () => Effect.map(makeEndpoint(config, config), (primary) => LanguageModel.of(primaryOnly(primary))),
    onSome: (fallback) =>
      Effect.gen(function*() {
        // Somewhere else to go: an endpoint asking for a long wait is not waited for.
        const policy: RetryPolicy = { ...config, failOverOnLongWait: true }
        return LanguageModel.of(withFallback({
          description: describeLlm(config),
          primary: yield* makeEndpoint(config, policy),
          probe: yield* makeEndpoint(config, { ...policy, maxRetries: 0 }),
          fallback: yield* makeEndpoint(fallback, fallback),
          toFallback: Option.isSome(config.fallbackModel) ? withoutChosenModel : (request) => request,
          breaker: yield* makeBreaker("primary model endpoint", primaryBreakerOptions)
        }))
      })
  })

/** The configured base URL as the SDK needs it (credentials in it are kept for the request). */
const publicEndpointOrConfigured = (config: LlmConfigShape): string =>
  Option.getOrElse(config.baseUrl, () => publicEndpoint(config))

/** The live model on the given settings. */
export const LanguageModelOpenAi: Layer.Layer<LanguageModel, never, LlmConfig> = Layer.effect(
  LanguageModel,
  Effect.flatMap(LlmConfig, makeOpenAiModel)
)
