/** The bot on embedded layers for the offline commands (replay, chat, the demo). */
import { Console, Effect, Layer, Option } from "effect"
import type { ConfigError } from "effect"
import { DispatcherConfig, DispatcherConfigSchema } from "../runtime/DispatcherConfig.ts"
import type { ConfigurationError, StoreError } from "../domain/errors.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { botLayer } from "../runtime/BotLayer.ts"
import { selectedModel, selectedProfile, selectedStores } from "../runtime/Environment.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { TelegramApiRecorder } from "../telegram/TelegramRecorder.ts"
import { replay } from "./replay.ts"

export const demoFile = new URL("../../examples/conversation.jsonl", import.meta.url).pathname

/** The dispatcher's settings from the environment, with `--concurrency` when given. */
export const dispatcherConfigWith = (concurrency: Option.Option<number>) =>
  Layer.effect(
    DispatcherConfig,
    Effect.map(DispatcherConfigSchema, (c) => ({
      ...c,
      maxConcurrentDialogs: Option.getOrElse(concurrency, () => c.maxConcurrentDialogs),
      // A recording arrives all at once: flood protection would drop what users sent over minutes.
      floodBurst: 0
    }))
  )

/** The bot on embedded layers, with the given offline Telegram (recorder or console). */
export const offlineBot = <T, E>(telegram: Layer.Layer<T, E>, concurrency: Option.Option<number>) =>
  botLayer<ConfigError.ConfigError | ConfigurationError | StoreError, TelegramApi>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model: selectedModel,
    stores: selectedStores,
    profile: selectedProfile,
    dispatcherConfig: dispatcherConfigWith(concurrency)
  }).pipe(Layer.provideMerge(telegram))

export const announceModel = Effect.flatMap(LanguageModel, (m) => Console.error(`model: ${m.description}`))

export const runReplay = (file: string, out: Option.Option<string>, concurrency: Option.Option<number>) =>
  Effect.gen(function*() {
    yield* announceModel
    const result = yield* replay({ file, out, print: true })
    yield* Console.error(
      `replayed ${result.updates} updates${result.badLines > 0 ? ` (${result.badLines} bad lines skipped)` : ""}, ${result.sent.length} bot messages`
    )
  }).pipe(Effect.provide(offlineBot(TelegramApiRecorder(), concurrency)))

