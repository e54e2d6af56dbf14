/**
 * The model's layers on the `openai` SDK as the package exports them: each imports its module
 * (and the SDK, 154 modules) when it is built, so a team's program that imports the package but
 * runs the offline model, or a model of its own, never loads the SDK. The layer itself is built
 * in `OpenAiModel.ts` (the transcriber's: `media/OpenAiTranscriberLayers.ts`).
 */
import { Layer } from "effect"
import { lazyLayer } from "../effect/lazyLayer.ts"
import type { LanguageModel } from "./LanguageModel.ts"
import { LlmConfig } from "./LlmConfig.ts"

/** The OpenAI-compatible model on the given settings. */
export const LanguageModelOpenAi: Layer.Layer<LanguageModel, never, LlmConfig> = lazyLayer(() =>
  import("./OpenAiModel.ts").then((m) => m.LanguageModelOpenAi)
)

/** The live model on settings read from the environment. */
export const LanguageModelLive = LanguageModelOpenAi.pipe(Layer.provide(LlmConfig.fromEnv))
