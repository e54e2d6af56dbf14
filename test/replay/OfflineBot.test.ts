/**
 * The one assembly of the offline bot the replay, chat and demo commands share: the dispatcher
 * set up for a recording that arrives all at once, the stores `STORE` names unless given, and
 * `replayBot` on memory stores whatever `STORE` says.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Logger, LogLevel, Option } from "effect"
import { decodeUpdate } from "../../src/domain/Update.ts"
import { offlineBot, offlineDispatcherConfig, replayBot } from "../../src/replay/OfflineBot.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { TelegramRecorder, TelegramApiRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { textMessage } from "../../src/testing/index.ts"

const withEnv = (env: Record<string, string>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  effect.pipe(
    Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ LOG_LEVEL: "none", ...env })))),
    Logger.withMinimumLogLevel(LogLevel.None)
  )

/** Sends `/start` from one user through the bot in context and returns the texts the recorder saw. */
const greet = (userId: number) =>
  Effect.gen(function*() {
    const raw = textMessage({ userId, updateId: 1, text: "/start" })
    const dispatcher = yield* Dispatcher
    yield* dispatcher.submit({ json: JSON.stringify(raw), update: yield* decodeUpdate(raw) })
    yield* dispatcher.awaitIdle
    return (yield* (yield* TelegramRecorder).sent).map((m) => m.text)
  })

describe("offlineDispatcherConfig", () => {
  it.effect("reads the environment, takes --concurrency when given and turns flood protection off", () =>
    Effect.gen(function*() {
      const env = withEnv({ MAX_CONCURRENT_DIALOGS: "8", FLOOD_BURST: "5", UPDATE_DEADLINE: "5 seconds" })
      const fromEnv = yield* DispatcherConfig.pipe(Effect.provide(offlineDispatcherConfig(Option.none())), env)
      expect(fromEnv.maxConcurrentDialogs).toBe(8)
      expect(fromEnv.floodBurst).toBe(0)
      expect(Duration.toMillis(fromEnv.updateDeadline)).toBe(5_000)
      const given = yield* DispatcherConfig.pipe(Effect.provide(offlineDispatcherConfig(Option.some(3))), env)
      expect(given.maxConcurrentDialogs).toBe(3)
      expect(given.floodBurst).toBe(0)
    }))
})

describe("offlineBot", () => {
  it.scoped("runs on the stores STORE names and provides the services of its Telegram layer", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const database = path.join(yield* fs.makeTempDirectoryScoped(), "bot.sqlite")
      const texts = yield* greet(31).pipe(
        Effect.provide(offlineBot({ telegram: TelegramApiRecorder() })),
        withEnv({ STORE: "sqlite", SQLITE_PATH: database })
      )
      expect(texts).toHaveLength(1)
      expect(texts[0]).toMatch(/^Hello! I'm the Northwind Goods assistant/)
      expect(yield* fs.exists(database)).toBe(true)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("replayBot runs on memory stores whatever STORE says, from nothing on every run", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const database = path.join(yield* fs.makeTempDirectoryScoped(), "bot.sqlite")
      const run = greet(32).pipe(
        Effect.provide(replayBot(Option.none())),
        withEnv({ STORE: "sqlite", SQLITE_PATH: database })
      )
      const first = yield* run
      // The same update id again is answered again: no inbox remembers the last run.
      expect(yield* run).toEqual(first)
      expect(first).toHaveLength(1)
      expect(yield* fs.exists(database)).toBe(false)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("a given stores layer is used instead of the one STORE names", () =>
    Effect.gen(function*() {
      const texts = yield* greet(33).pipe(
        Effect.provide(offlineBot({ telegram: TelegramApiRecorder(), stores: StoresMemory })),
        withEnv({ STORE: "ydb" })
      )
      expect(texts).toHaveLength(1)
    }))
})
