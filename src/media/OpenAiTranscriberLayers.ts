/**
 * The transcriber's layers on the `openai` SDK as the package exports them: each imports
 * `OpenAiTranscriber.ts` (and the SDK) when it is built, so a program that never transcribes
 * never loads it. The layer itself is built there.
 */
import { Layer } from "effect"
import { lazyLayer } from "../effect/lazyLayer.ts"
import { LlmConfig } from "../llm/LlmConfig.ts"
import type { MediaConfig } from "./MediaConfig.ts"
import type { Transcriber } from "./Transcriber.ts"

/** Transcription at the model endpoint of the given settings. */
export const TranscriberOpenAi: Layer.Layer<Transcriber, never, LlmConfig | MediaConfig> = lazyLayer(() =>
  import("./OpenAiTranscriber.ts").then((m) => m.TranscriberOpenAi)
)

/** The transcriber at the model endpoint configured in the environment. */
export const TranscriberOpenAiLive = TranscriberOpenAi.pipe(Layer.provide(LlmConfig.fromEnv))
