/**
 * The bot on embedded layers for the offline commands (replay, chat, the demo): the configured
 * model and profile, a Bot API that records or prints instead of sending, and the dispatcher
 * set up for a recording that arrives all at once. One assembly for all of them, so a replay,
 * a chat and the demo run the same bot.
 */
import { type ConfigError, type Duration, Effect, Layer, Option } from "effect"
import type { ConfigurationError, StoreError } from "../domain/errors.ts"
import { assembledBot } from "../runtime/BotDefinition.ts"
import type { Stores } from "../runtime/BotLayer.ts"
import { DispatcherConfig, outagePatienceSet } from "../runtime/DispatcherConfig.ts"
import { selectedModel, selectedStores } from "../runtime/Environment.ts"
import { StoresMemory } from "../store/memory/MemoryStores.ts"
import { StreamConfig } from "../telegram/StreamConfig.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { TelegramApiRecorder } from "../telegram/TelegramRecorder.ts"

/**
 * The dispatcher's settings from the environment, with `--concurrency` when given and
 * `outagePatience` when `OUTAGE_PATIENCE` is not set.
 */
export const offlineDispatcherConfig = (
  concurrency: Option.Option<number>,
  outagePatience: Option.Option<Duration.Duration> = Option.none()
) =>
  Layer.effect(
    DispatcherConfig,
    Effect.map(Effect.all([DispatcherConfig.config, outagePatienceSet]), ([c, patienceSet]) => ({
      ...c,
      maxConcurrentDialogs: Option.getOrElse(concurrency, () => c.maxConcurrentDialogs),
      outagePatience: Option.getOrElse(Option.orElse(patienceSet, () => outagePatience), () => c.outagePatience),
      // A recording arrives all at once: flood protection would drop what users sent over minutes.
      floodBurst: 0
    }))
  )

export interface OfflineBotOptions<T, E> {
  /** The offline Telegram: the recorder (`TelegramApiRecorder`) or the console (`TelegramApiConsole`). */
  readonly telegram: Layer.Layer<T | TelegramApi, E>
  /** The stores; the ones `STORE` names when not given. */
  readonly stores?: Layer.Layer<Stores, ConfigError.ConfigError | StoreError>
  /** Dialogs running at once (`--concurrency`); `MAX_CONCURRENT_DIALOGS` when none. */
  readonly concurrency?: Option.Option<number>
  /** How long a turn waits for a dependency that is down when `OUTAGE_PATIENCE` is not set; its default when none. */
  readonly outagePatience?: Duration.Duration
}

/** The bot on embedded layers, with the given offline Telegram; it provides that layer's services too. */
export const offlineBot = <T, E>(options: OfflineBotOptions<T, E>) =>
  assembledBot<ConfigError.ConfigError | StoreError, TelegramApi>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model: selectedModel,
    stores: options.stores ?? selectedStores,
    dispatcherConfig: offlineDispatcherConfig(options.concurrency ?? Option.none(), Option.fromNullable(options.outagePatience)),
    // Answers as text with entities (`RICH_MESSAGES=off`): the offline Telegram has no rich
    // messages, and a person at the terminal need not read that it refused the first one.
    streamConfig: Layer.effect(StreamConfig, Effect.map(StreamConfig.config, (c) => ({ ...c, richMessages: "off" as const })))
  }).pipe(Layer.provideMerge(options.telegram))

/**
 * The bot a replay runs on: the Bot API recorded, and stores in memory whatever `STORE` says —
 * every replay starts from no clients, no history and an empty inbox, so the same recording
 * gives the same transcript on every run (a database would remember the updates of the last
 * run and skip them as duplicates).
 */
export const replayBot = (concurrency: Option.Option<number>) =>
  offlineBot({ telegram: TelegramApiRecorder(), stores: StoresMemory, concurrency })
