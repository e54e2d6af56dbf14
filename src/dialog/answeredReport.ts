/**
 * What an answered turn reports: the `dialogs_answered` metric (by stage, and whether a fallback
 * answered), one log line and the attributes of the turn's span, each with the tokens of the
 * whole turn and of each of its three stages, so that where a turn's tokens went reads the same
 * in the logs and in the traces.
 */
import { Effect, LogLevel } from "effect"
import { addUsage, type Usage } from "../llm/LanguageModel.ts"
import { dialogsAnswered, updateMetric, withTags } from "../observability/Metrics.ts"
import { annotatedSpan } from "../observability/span.ts"
import type { ToolResult } from "../tools/Tools.ts"
import { logAnnotated } from "../effect/locallyAll.ts"

/** A stage of the turn as the report reads it: its tokens. */
interface StepReport {
  readonly usage: Usage
}

/** Reports the turn answered in stage `stage`; `fallback`: a stage's fallback answered. */
export const reportAnswered = (
  stage: string,
  fallback: boolean,
  classified: StepReport,
  thought: StepReport & { readonly results: ReadonlyArray<ToolResult> },
  synthesized: StepReport
): Effect.Effect<void> => {
  const usage = addUsage(addUsage(classified.usage, thought.usage), synthesized.usage)
  const tokens = {
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    classify_prompt_tokens: classified.usage.promptTokens,
    classify_completion_tokens: classified.usage.completionTokens,
    think_prompt_tokens: thought.usage.promptTokens,
    think_completion_tokens: thought.usage.completionTokens,
    synthesize_prompt_tokens: synthesized.usage.promptTokens,
    synthesize_completion_tokens: synthesized.usage.completionTokens
  }
  return annotatedSpan(
    { stage, ...tokens },
    Effect.zipRight(
      updateMetric(withTags(dialogsAnswered, { dialog_stage: stage, fallback: String(fallback) }), 1),
      logAnnotated(LogLevel.Info, "dialog answered", {
        stage,
        tools: thought.results.map((r) => `${r.name}:${r.ok ? "ok" : "error"}`).join(",") || "none",
        ...tokens,
        fallback
      })
    )
  )
}
