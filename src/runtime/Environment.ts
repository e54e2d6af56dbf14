/**
 * Which layers the configuration selects: the language model, the stores, the profile. Each
 * entry point builds the bot from these, so a setting means the same everywhere.
 */
import { NodeContext } from "@effect/platform-node"
import { type ConfigError, Effect, Layer } from "effect"
import { DialogConfigSchema } from "../dialog/DialogConfig.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { liveModelRequested } from "../llm/LlmConfig.ts"
import { withMetrics } from "../llm/LlmMetrics.ts"
import { LanguageModelOffline } from "../llm/OfflineModel.ts"
import { LanguageModelLive } from "../llm/OpenAiModel.ts"
import { BotProfileFile, type BotProfile } from "../profile/BotProfile.ts"
import { StoresLive } from "../store/Stores.ts"

/** `STORE`: memory, sqlite (the default), postgres or ydb. */
export { StoreKind } from "../store/StoreConfig.ts"

/** The profile named by `BOT_PROFILE`. */
export const selectedProfile = Layer.unwrapEffect(
  Effect.map(Effect.orDie(DialogConfigSchema), (config) => BotProfileFile(config.profilePath))
).pipe(Layer.provide(NodeContext.layer))

/**
 * The model: the live OpenAI-compatible one when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is
 * set, the offline one otherwise. Either one's calls are measured (`llm_*` metrics).
 */
export const selectedModel: Layer.Layer<LanguageModel, ConfigError.ConfigError, BotProfile> = Layer.unwrapEffect(
  Effect.map(liveModelRequested, (live) =>
    live
      ? LanguageModelLive
      : Layer.effect(LanguageModel, Effect.map(LanguageModel, (model) => withMetrics(model, () => "offline"))).pipe(
        Layer.provide(LanguageModelOffline)
      ))
)

/** The stores named by `STORE`: SQLite at `SQLITE_PATH` unless configured otherwise. */
export const selectedStores = StoresLive
