/** The span of one model call, the same for every model: `llm.complete` with what it cost. */
import { Effect } from "effect"
import { tracing } from "../observability/span.ts"
import type { CompletionResponse, Purpose } from "./LanguageModel.ts"

/**
 * `call` as the span `llm.complete`, tagged with its purpose and model (and `streamed` for a
 * streamed call), its tokens and tool calls noted on it once it answered. With tracing off, the
 * call as it is (one runtime step for the check).
 */
export const callSpan = (purpose: Purpose, model: string, streamed = false) =>
<E, R>(call: Effect.Effect<CompletionResponse, E, R>): Effect.Effect<CompletionResponse, E, R> =>
  tracing((enabled) =>
    !enabled ? call : call.pipe(
      Effect.tap((response) =>
        Effect.annotateCurrentSpan({
          prompt_tokens: response.usage.promptTokens,
          completion_tokens: response.usage.completionTokens,
          cached_prompt_tokens: response.usage.cachedPromptTokens,
          reasoning_tokens: response.usage.reasoningTokens,
          tool_calls: response.toolCalls.length
        })
      ),
      Effect.withSpan("llm.complete", { attributes: { purpose, model, ...(streamed ? { streamed: true } : {}) } })
    )
  )
