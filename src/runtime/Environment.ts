/**
 * Which layers the configuration selects: the language model, the stores, the profile. Each
 * entry point builds the bot from these, so a setting means the same everywhere.
 */
import { FileSystem } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { isAbsolute, join } from "node:path"
import { type ConfigError, Effect, Layer } from "effect"
import { DialogConfigSchema } from "../dialog/DialogConfig.ts"
import { LanguageModelLive } from "../llm/OpenAiLayers.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { liveModelRequested } from "../llm/LlmConfig.ts"
import { withMetrics } from "../llm/LlmMetrics.ts"
import { LanguageModelOffline } from "../llm/OfflineModel.ts"
import { BotProfileFile, type BotProfile } from "../profile/BotProfile.ts"
import { StoresLive } from "../store/Stores.ts"

/** `STORE`: memory, sqlite (the default), postgres or ydb. */
export { StoreKind } from "../store/StoreConfig.ts"

/** The package's own folder (the profiles it ships are under it), from src/runtime/ or dist/runtime/. */
const packageRoot = new URL("../../", import.meta.url).pathname

/**
 * Where the profile `BOT_PROFILE` names is: a relative path is looked up in the working
 * directory, then among the package's own files, so the default (`profiles/shop/profile.json`)
 * also works where the package is installed rather than cloned.
 */
export const profileLocation = (path: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    if (isAbsolute(path) || (yield* fs.exists(path).pipe(Effect.orElseSucceed(() => false)))) return path
    const bundled = join(packageRoot, path)
    return (yield* fs.exists(bundled).pipe(Effect.orElseSucceed(() => false))) ? bundled : path
  })

/** The profile named by `BOT_PROFILE`. */
export const selectedProfile = Layer.unwrapEffect(
  Effect.flatMap(Effect.orDie(DialogConfigSchema), (config) => Effect.map(profileLocation(config.profilePath), BotProfileFile))
).pipe(Layer.provide(NodeContext.layer))

/**
 * The model: the live OpenAI-compatible one when `OPENAI_API_KEY` or `OPENAI_BASE_URL` is
 * set, the offline one otherwise. Either one's calls are measured (`llm_*` metrics). The live
 * one's module, with the `openai` SDK (154 modules), is imported when its layer is built: the
 * offline model never loads it.
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
