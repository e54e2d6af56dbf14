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
 */
import { keepAliveFetch } from "../http/keepAliveFetch.ts"
import OpenAI from "openai"
import type {
  ChatCompletionCreateParamsNonStreaming,
  ChatCompletionMessageParam,
  ChatCompletionTool
} from "openai/resources/chat/completions"
import { Data, Duration, Effect, Layer, Option, ParseResult, Redacted, Schedule, ScheduleDecision, Schema } from "effect"
import { capToolResult } from "../dialog/prompts.ts"
import {
  type ChatMessage,
  type CompletionRequest,
  type CompletionResponse,
  LanguageModel,
  LanguageModelError,
  type LanguageModelService,
  type Purpose,
  type ToolCall,
  type ToolSpec
} from "./LanguageModel.ts"
import { describeLlm, LlmConfig, type LlmConfigShape, modelFor, publicEndpoint } from "./LlmConfig.ts"
import { recordRetry, withMetrics } from "./LlmMetrics.ts"
import { withSpan } from "../observability/span.ts"

/** Sent as the key to endpoints that need none (the SDK insists on one). */
export const placeholderKey = "no-key"

/** Tool calls of one response beyond this many are ignored (a runaway model cannot flood the loop). */
export const maxToolCallsPerResponse = 16

/** One failed HTTP attempt; retried by the schedule when `retryable`. */
export class ModelCallFailed extends Data.TaggedError("ModelCallFailed")<{
  readonly message: string
  readonly retryable: boolean
  readonly status: Option.Option<number>
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

// ---------------------------------------------------------------------------------------------
// Retry policy

const readHeader = (headers: unknown, name: string): string | undefined =>
  headers instanceof Headers ? headers.get(name) ?? undefined : undefined

/**
 * What an endpoint asked us to wait: `retry-after-ms` (milliseconds), else `retry-after`
 * (seconds or an HTTP date). Nonsense and negative values count as not given.
 */
export const retryAfterFrom = (headers: unknown, now: number): Option.Option<Duration.Duration> => {
  const ms = readHeader(headers, "retry-after-ms")
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Option.some(Duration.millis(Number(ms)))
  const after = readHeader(headers, "retry-after")
  if (after === undefined) return Option.none()
  if (/^\s*\d+(\.\d+)?\s*$/.test(after)) return Option.some(Duration.millis(Number(after) * 1000))
  // An HTTP date names its weekday and month; anything else (e.g. "-5") is not one.
  const date = /[a-z]{3}/i.test(after) ? Date.parse(after) : Number.NaN
  if (Number.isNaN(date)) return Option.none()
  return Option.some(Duration.millis(Math.max(0, date - now)))
}

export interface RetryPolicy {
  readonly maxRetries: number
  readonly backoffBase: Duration.Duration
  readonly retryAfterCap: Duration.Duration
}

/**
 * The one retry policy of model calls: only retryable failures, at most `maxRetries` times;
 * the wait is what the endpoint asked (at most `retryAfterCap`), else exponential backoff from
 * `backoffBase` with jitter (also at most `retryAfterCap`).
 */
export const retrySchedule = (policy: RetryPolicy) =>
  Schedule.identity<ModelCallFailed>().pipe(
    Schedule.intersect(Schedule.jittered(Schedule.exponential(policy.backoffBase, 2))),
    Schedule.intersect(Schedule.recurs(policy.maxRetries)),
    Schedule.whileInput((failure: ModelCallFailed) => failure.retryable),
    Schedule.modifyDelay(([[failure]], backoff) =>
      Duration.min(Option.getOrElse(failure.retryAfter, () => backoff), policy.retryAfterCap)
    )
  )

// ---------------------------------------------------------------------------------------------
// The wire: what is sent, what comes back

const WireToolCall = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.Struct({
    name: Schema.String,
    // Some servers send the arguments as an object instead of JSON text.
    arguments: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown }))))
  })
})

const WireCompletion = Schema.Struct({
  model: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.Array(Schema.Struct({
    message: Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      refusal: Schema.optional(Schema.NullOr(Schema.String)),
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCall)))
    }),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Schema.NullOr(Schema.Struct({
    prompt_tokens: Schema.optional(Schema.NullOr(Schema.Number)),
    completion_tokens: Schema.optional(Schema.NullOr(Schema.Number))
  })))
})
type WireCompletion = typeof WireCompletion.Type

const decodeCompletion = Schema.decodeUnknownEither(WireCompletion)

/** Our messages as the Chat Completions API wants them; tool results capped to `toolResultChars`. */
export const toWireMessages = (
  messages: ReadonlyArray<ChatMessage>,
  toolResultChars: number
): Array<ChatCompletionMessageParam> =>
  messages.map((message): ChatCompletionMessageParam => {
    switch (message.role) {
      case "system":
        return { role: "system", content: message.content }
      case "user":
        return { role: "user", content: message.content }
      case "assistant":
        return message.toolCalls !== undefined && message.toolCalls.length > 0
          ? {
            role: "assistant",
            content: message.content,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: "function" as const,
              function: { name: call.name, arguments: call.arguments }
            }))
          }
          : { role: "assistant", content: message.content ?? "" }
      case "tool":
        return { role: "tool", tool_call_id: message.toolCallId, content: capToolResult(message.content, toolResultChars) }
    }
  })

export const toWireTools = (tools: ReadonlyArray<ToolSpec>): Array<ChatCompletionTool> =>
  tools.map((tool) => ({
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.parameters as Record<string, unknown> }
  }))

const nonNegative = (n: number | null | undefined) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.round(n) : 0)

/** The decoded completion as our response; `None` when it has no choice to read. */
export const fromWire = (wire: WireCompletion, requestedModel: string): Option.Option<CompletionResponse> => {
  const choice = wire.choices[0]
  if (choice === undefined) return Option.none()
  const calls = choice.message.tool_calls ?? []
  const toolCalls: Array<ToolCall> = calls.slice(0, maxToolCallsPerResponse).map((call, index) => ({
    id: call.id ?? `call_${index}`,
    name: call.function.name,
    arguments: typeof call.function.arguments === "string"
      ? call.function.arguments
      : JSON.stringify(call.function.arguments ?? {})
  }))
  return Option.some({
    text: choice.message.content ?? (toolCalls.length === 0 ? choice.message.refusal ?? null : null),
    toolCalls,
    usage: {
      promptTokens: nonNegative(wire.usage?.prompt_tokens),
      completionTokens: nonNegative(wire.usage?.completion_tokens)
    },
    model: wire.model ?? requestedModel
  })
}

// ---------------------------------------------------------------------------------------------
// Errors of the SDK as failures

const causeChain = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = "code" in current && typeof current.code === "string" ? ` (${current.code})` : ""
    parts.push(`${current.message}${code}`)
    current = current.cause
  }
  return parts.join(": ") || String(error)
}

const retryableStatus = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500

/** A thrown SDK error as a failure: retryable or not, with its status and retry-after. */
export const failureOf = (error: unknown, now: number): ModelCallFailed => {
  const none = { status: Option.none<number>(), retryAfter: Option.none<Duration.Duration>() }
  if (error instanceof OpenAI.APIUserAbortError) {
    return new ModelCallFailed({ message: "request aborted", retryable: false, ...none })
  }
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new ModelCallFailed({ message: "request timed out", retryable: true, ...none })
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new ModelCallFailed({ message: `connection failed: ${causeChain(error.cause ?? error)}`, retryable: true, ...none })
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    return new ModelCallFailed({
      message: `HTTP ${error.status}: ${error.message}`,
      retryable: retryableStatus(error.status),
      status: Option.some(error.status),
      retryAfter: retryAfterFrom(error.headers, now)
    })
  }
  return new ModelCallFailed({ message: `unreadable response: ${causeChain(error)}`, retryable: false, ...none })
}

/** An error message safe to log: the key (if any) replaced, and not endless. */
export const scrub = (message: string, key: Option.Option<Redacted.Redacted<string>>): string => {
  const secret = Option.match(key, { onNone: () => "", onSome: Redacted.value })
  const clean = secret.length >= 4 ? message.split(secret).join("<redacted>") : message
  return clean.length > 500 ? `${clean.slice(0, 500)}…` : clean
}

// ---------------------------------------------------------------------------------------------
// The service

export const makeOpenAiModel = (config: LlmConfigShape) =>
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
        fetch: keepAliveFetch
      })
    )
    const timeoutMs = Duration.toMillis(config.timeout)
    const isOpenAi = new URL(baseURL).host === "api.openai.com"

    const body = (request: CompletionRequest, model: string): ChatCompletionCreateParamsNonStreaming => ({
      model,
      messages: toWireMessages(request.messages, config.toolResultChars),
      ...(request.tools !== undefined && request.tools.length > 0 ? { tools: toWireTools(request.tools) } : {}),
      ...Option.match(config.temperature, { onNone: () => ({}), onSome: (temperature) => ({ temperature }) }),
      // OpenAI's newer models take only `max_completion_tokens`; other servers know `max_tokens`.
      ...Option.match(config.maxOutputTokens, {
        onNone: () => ({}),
        onSome: (n) => (isOpenAi ? { max_completion_tokens: n } : { max_tokens: n })
      })
    })

    /** One HTTP request: the fiber's signal goes to the SDK; the per-call deadline interrupts it. */
    const attempt = (params: ChatCompletionCreateParamsNonStreaming) =>
      Effect.tryPromise({
        try: (signal) => client.chat.completions.create(params, { signal, maxRetries: 0 }),
        catch: (error) => failureOf(error, Date.now())
      }).pipe(
        Effect.timeoutFail({
          duration: config.timeout,
          onTimeout: () =>
            new ModelCallFailed({
              message: `no answer within ${timeoutMs} ms`,
              retryable: true,
              status: Option.none(),
              retryAfter: Option.none()
            })
        })
      )

    const complete = (request: CompletionRequest): Effect.Effect<CompletionResponse, LanguageModelError> => {
      const model = modelFor(config, request.purpose)
      const fail = (message: string, status: Option.Option<number> = Option.none()) =>
        new LanguageModelError({
          purpose: request.purpose,
          message: scrub(message, config.apiKey),
          ...Option.match(status, { onNone: () => ({}), onSome: (s) => ({ status: s }) })
        })
      const schedule = retrySchedule(config).pipe(
        Schedule.onDecision(([[failure]], decision) =>
          ScheduleDecision.isContinue(decision)
            ? Effect.zipRight(
              recordRetry(request.purpose, model),
              Effect.logWarning(`model call failed, retrying: ${scrub(failure.message, config.apiKey)}`)
            )
            : Effect.void
        )
      )
      return attempt(body(request, model)).pipe(
        Effect.retry(schedule),
        Effect.mapError((failure) => fail(failure.message, failure.status)),
        Effect.flatMap((raw) => {
          const decoded = decodeCompletion(raw)
          if (decoded._tag === "Left") {
            return Effect.fail(fail(`unreadable response: ${ParseResult.TreeFormatter.formatErrorSync(decoded.left)}`))
          }
          const asked = decoded.right.choices[0]?.message.tool_calls?.length ?? 0
          const ignored = asked > maxToolCallsPerResponse
            ? Effect.logWarning(`the model asked for ${asked} tool calls at once; those after ${maxToolCallsPerResponse} were ignored`)
            : Effect.void
          return Option.match(fromWire(decoded.right, model), {
            onNone: () => Effect.fail(fail("the response has no choices")),
            onSome: (response) => Effect.as(ignored, response)
          })
        }),
        Effect.tap((response) =>
          Effect.annotateCurrentSpan({
            prompt_tokens: response.usage.promptTokens,
            completion_tokens: response.usage.completionTokens,
            tool_calls: response.toolCalls.length
          })
        ),
        withSpan("llm.complete", { attributes: { purpose: request.purpose, model } }),
        Effect.annotateLogs({ purpose: request.purpose, model })
      )
    }

    const service: LanguageModelService = { description: describeLlm(config), complete }
    return LanguageModel.of(withMetrics(service, (purpose: Purpose) => modelFor(config, purpose)))
  })

/** The configured base URL as the SDK needs it (credentials in it are kept for the request). */
const publicEndpointOrConfigured = (config: LlmConfigShape): string =>
  Option.getOrElse(config.baseUrl, () => publicEndpoint(config))

/** The live model on the given settings. */
export const OpenAiModel: Layer.Layer<LanguageModel, never, LlmConfig> = Layer.effect(
  LanguageModel,
  Effect.flatMap(LlmConfig, makeOpenAiModel)
)

/** The live model on settings read from the environment. */
export const LanguageModelLive = OpenAiModel.pipe(Layer.provide(LlmConfig.fromEnv))
