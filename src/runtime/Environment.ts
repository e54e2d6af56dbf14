/**
 * Which layers the configuration selects: the language model, the stores, the profile. Each
 * entry point builds the bot from these, so a setting means the same everywhere.
 */
import { NodeContext } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import { DialogConfigSchema } from "../config.ts"
import type { LanguageModel } from "../llm/LanguageModel.ts"
import { OfflineModel } from "../llm/OfflineModel.ts"
import { BotProfileFile, type BotProfile } from "../profile/BotProfile.ts"
import { StoresMemory } from "../store/memory/MemoryStores.ts"

export const StoreKind = Config.literal("memory")("STORE").pipe(Config.withDefault("memory" as const))

/** The profile named by `BOT_PROFILE`. */
export const selectedProfile = Layer.unwrapEffect(
  Effect.map(Effect.orDie(DialogConfigSchema), (config) => BotProfileFile(config.profilePath))
).pipe(Layer.provide(NodeContext.layer))

/** The model: the offline one until a live model is configured. */
export const selectedModel: Layer.Layer<LanguageModel, never, BotProfile> = OfflineModel

/** The stores named by `STORE`. */
export const selectedStores = StoresMemory
