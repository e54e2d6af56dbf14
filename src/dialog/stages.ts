/**
 * The three steps of a dialog and their fallbacks: 1 classify (a failure uses the default
 * stage), 2 think (the model with the stage's tools, a bounded tool loop; a failure goes on
 * with the tool results gathered so far), 3 synthesize (a failure or an empty answer tries one
 * plain generation, then the apology). None of them fails: each says whether it fell back.
 */
import { Effect, Either, Option } from "effect"
import { addUsage, type ChatMessage, LanguageModel, type LanguageModelError, noUsage, type Usage, type UserMedia } from "../llm/LanguageModel.ts"
import { timeStage } from "../observability/Metrics.ts"
import { tapSpan, withSpan } from "../observability/span.ts"
import { BotProfile, type Stage } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import type { ToolContext } from "../tools/Tool.ts"
import { type ToolResult, Tools } from "../tools/Tools.ts"
import { countingUsage } from "../llm/TurnUsage.ts"
import { patientModel } from "../llm/PatientModel.ts"
import { Outages } from "../effect/Outages.ts"
import { parseStage } from "./classification.ts"
import { DialogConfig } from "./DialogConfig.ts"
import { type Asker, classifyMessages, plainMessages, promptCacheKey, synthesizeMessages, thinkMessages } from "./prompts.ts"
import { annotateLogs } from "../effect/locallyAll.ts"

/**
 * Pictures tools returned, as one user message after the tool messages: a tool message carries
 * text only in the chat completions API.
 */
const toolPictures = (results: ReadonlyArray<ToolResult>): ReadonlyArray<ChatMessage> => {
  const withImages = results.filter((r) => r.images !== undefined && r.images.length > 0)
  if (withImages.length === 0) return []
  return [{
    role: "user",
    content: `Pictures returned by ${withImages.map((r) => r.name).join(", ")} (tool results, not the customer's message).`,
    images: withImages.flatMap((r) => r.images ?? [])
  }]
}

/** The model a user chose, for the think and synthesize calls (classification keeps the configured one). */
export const chosenModel = (asker: Asker): { readonly model?: string } =>
  Option.match(asker.choice.model, { onNone: () => ({}), onSome: (choice) => ({ model: choice.model }) })

/** The stages over the bot's model, tools, profile and settings. */
export const makeStages = Effect.gen(function*() {
  const config = yield* DialogConfig
  const profile = yield* BotProfile
  // Through the model's breaker: an endpoint that is down is waited out, not fallen back from (llm/PatientModel.ts).
  const model = patientModel(countingUsage(yield* LanguageModel), Option.map(yield* Effect.serviceOption(Outages), (o) => o.model))
  const tools = yield* Tools
  const stageIds = profile.stages.map((s) => s.id)
  const cacheKey = promptCacheKey(profile)

  const classify = (context: ReadonlyArray<ChatMessage>, text: string) =>
    model.complete({ purpose: "classify", messages: classifyMessages(profile, context, text), cacheKey }).pipe(
      Effect.map((r) => ({ stage: parseStage(r.text, stageIds, profile.defaultStage), usage: r.usage, fallback: false })),
      Effect.catchTag("LanguageModelError", (e) =>
        Effect.as(Effect.logWarning(`classification failed, using the default stage: ${e.message}`), {
          stage: profile.defaultStage,
          usage: noUsage,
          fallback: true
        })
      ),
      tapSpan((r) => ({ stage: r.stage, fallback: r.fallback })),
      timeStage("classify"),
      withSpan("dialog.classify")
    )

  /** The tool loop: at most `toolMaxSteps` model calls; the calls of one step run concurrently. */
  const think = (
    stage: Stage,
    asker: Asker,
    context: ReadonlyArray<ChatMessage>,
    text: string,
    toolContext: ToolContext,
    media: UserMedia = {},
    /** Told the tools about to run at each step (the draft says which one works). */
    progress: (tools: ReadonlyArray<string>) => void = () => {}
  ) =>
    Effect.gen(function*() {
      let messages = thinkMessages(profile, stage, asker, context, text, media)
      const results: Array<ToolResult> = []
      let usage: Usage = noUsage
      for (let step = 0; step < config.toolMaxSteps; step++) {
        // Asked each step: an MCP server's list may change while the turn runs.
        const specs = yield* tools.specs(stage.tools)
        const response = yield* model.complete({
          purpose: "think",
          messages,
          cacheKey,
          ...chosenModel(asker),
          ...(specs.length > 0 ? { tools: specs } : {})
        }).pipe(
          Effect.map(Either.right),
          Effect.catchTag("LanguageModelError", (e) => Effect.succeed(Either.left(e)))
        )
        if (response._tag === "Left") {
          yield* Effect.logWarning(`think step failed, going on with ${results.length} tool results: ${response.left.message}`)
          return { notes: "", results, usage, fallback: true }
        }
        usage = addUsage(usage, response.right.usage)
        const calls = response.right.toolCalls
        if (calls.length === 0) return { notes: response.right.text ?? "", results, usage, fallback: false }
        progress(calls.map((call) => call.name))
        const stepResults = yield* Effect.forEach(calls, (call) => tools.execute(call, stage.tools, toolContext), {
          concurrency: config.toolConcurrency
        })
        results.push(...stepResults)
        messages = [
          ...messages,
          { role: "assistant", content: response.right.text, toolCalls: calls },
          ...stepResults.map((r): ChatMessage => ({ role: "tool", toolCallId: r.callId, content: r.content })),
          ...toolPictures(stepResults)
        ]
      }
      yield* Effect.logWarning(`tool loop stopped after ${config.toolMaxSteps} steps`)
      return { notes: "", results, usage, fallback: true }
    }).pipe(
      timeStage("think"),
      annotateLogs({ stage: stage.id }),
      withSpan("dialog.think", { attributes: { stage: stage.id } })
    )

  const nonEmpty = (text: string | null) => Option.filter(Option.fromNullable(text?.trim()), (t) => t.length > 0)

  /** The fallback of a failed synthesis: one plain generation, then the apology. */
  const plainAfter = (failure: string, asker: Asker, context: ReadonlyArray<ChatMessage>, text: string, media: UserMedia = {}) =>
    Effect.flatMap(userTexts(profile), (texts) => Effect.zipRight(
      Effect.logWarning(`synthesis failed, trying a plain generation: ${failure}`),
      model.complete({ purpose: "synthesize", messages: plainMessages(profile, asker, context, text, media), cacheKey, ...chosenModel(asker) }).pipe(
        Effect.map((r) => ({ answer: Option.getOrElse(nonEmpty(r.text), () => texts.apology), usage: r.usage, fallback: true })),
        Effect.catchTag("LanguageModelError", (e2) =>
          Effect.as(Effect.logError(`plain generation failed, sending the apology: ${e2.message}`), {
            answer: texts.apology,
            usage: noUsage,
            fallback: true
          })
        )
      )
    ))

  const synthesize = (
    stage: Stage,
    asker: Asker,
    context: ReadonlyArray<ChatMessage>,
    text: string,
    findings: string,
    media: UserMedia = {}
  ) =>
    model.complete({
      purpose: "synthesize",
      messages: synthesizeMessages(profile, stage, asker, context, text, findings, media),
      cacheKey,
      ...chosenModel(asker)
    })
      .pipe(
        Effect.flatMap((r) =>
          Option.match(nonEmpty(r.text), {
            onNone: () => Effect.fail("the model returned an empty answer"),
            onSome: (answer) => Effect.succeed({ answer, usage: r.usage, fallback: false })
          })
        ),
        Effect.catchIf(
          (e): e is string | LanguageModelError => typeof e === "string" || e._tag === "LanguageModelError",
          (e) => plainAfter(typeof e === "string" ? e : e.message, asker, context, text, media)
        ),
        timeStage("synthesize"),
        annotateLogs({ stage: stage.id }),
        withSpan("dialog.synthesize", { attributes: { stage: stage.id } })
      )

  return { classify, think, synthesize, plainAfter }
})

export type Stages = Effect.Effect.Success<typeof makeStages>
