/**
 * Step 3 streamed: the synthesis answer shown as the model writes it (drafts or edits, see
 * `StreamingReplies`). When the answer is not shown live the usual synthesis runs; a stream that
 * fails or comes back empty falls back as synthesis does: one plain generation, then the
 * apology (`stages.ts`).
 */
import { Effect, Either, Option } from "effect"
import { type ChatMessage, LanguageModel, type UserMedia } from "../llm/LanguageModel.ts"
import { streamCompletion } from "../llm/streaming.ts"
import { countingUsage } from "../llm/TurnUsage.ts"
import { patientModel } from "../llm/PatientModel.ts"
import { Outages } from "../effect/Outages.ts"
import { timeStage } from "../observability/Metrics.ts"
import { withSpan } from "../observability/span.ts"
import { BotProfile, type Stage } from "../profile/BotProfile.ts"
import type { AnswerStream } from "../telegram/StreamingReplies.ts"
import { type Asker, promptCacheKey, synthesizeMessages } from "./prompts.ts"
import { chosenModel, type Stages } from "./stages.ts"

export const makeStreamingSynthesis = Effect.gen(function*() {
  const model = patientModel(countingUsage(yield* LanguageModel), Option.map(yield* Effect.serviceOption(Outages), (o) => o.model))
  const profile = yield* BotProfile

  return ({ plainAfter, synthesize }: Pick<Stages, "synthesize" | "plainAfter">) =>
  (
    answer: AnswerStream,
    stage: Stage,
    asker: Asker,
    context: ReadonlyArray<ChatMessage>,
    text: string,
    findings: string,
    media: UserMedia = {}
  ) =>
    Effect.gen(function*() {
      if (!(yield* answer.live)) return yield* synthesize(stage, asker, context, text, findings, media)
      const request = {
        purpose: "synthesize",
        messages: synthesizeMessages(profile, stage, asker, context, text, findings, media),
        cacheKey: promptCacheKey(profile),
        ...chosenModel(asker)
      } as const
      const streamed = yield* streamCompletion(model, request, answer.show).pipe(
        Effect.map((r) => ({ answer: (r.text ?? "").trim(), usage: r.usage, fallback: false })),
        timeStage("synthesize"),
        withSpan("dialog.synthesize", { attributes: { stage: stage.id, streamed: true } }),
        Effect.map(Either.right),
        Effect.catchTag("LanguageModelError", (e) => Effect.succeed(Either.left(e)))
      )
      if (streamed._tag === "Right" && streamed.right.answer !== "") return streamed.right
      const failure = streamed._tag === "Left" ? streamed.left.message : "the model returned an empty answer"
      return yield* plainAfter(failure, asker, context, text, media)
    }).pipe(Effect.annotateLogs("stage", stage.id))
})
