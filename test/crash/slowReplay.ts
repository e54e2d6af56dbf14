/**
 * A replay for the crash test: the bot as `replay` builds it (stores from STORE/SQLITE_PATH,
 * the offline model, the dispatcher and the pipeline), with two test-only changes:
 * - every model call first waits `CRASH_TEST_MODEL_DELAY_MS`, so that a kill lands mid-run;
 * - every message the bot sends is appended at once to the file given as the second argument
 *   (one JSON line `{update_id, chat_id, text, merged}`, `merged` the updates answered in the
 *   same turn, with `MERGE_WINDOW`), so that what was sent before a kill is known.
 *
 *   node --import tsx test/crash/slowReplay.ts updates.jsonl sent.jsonl
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { appendFileSync } from "node:fs"
import { Config, type ConfigError, Console, Duration, Effect, FiberRef, Layer, Logger, LogLevel, Option } from "effect"
import type { ConfigurationError, StoreError } from "../../src/domain/errors.ts"
import { CurrentUpdateId } from "../../src/domain/CurrentUpdate.ts"
import { CurrentMergedParts } from "../../src/domain/MergedTurn.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { selectedProfile, selectedStores } from "../../src/runtime/Environment.ts"
import { replay } from "../../src/replay/Replay.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { TelegramApiRecorder } from "../../src/telegram/TelegramRecorder.ts"

const [file, sentFile] = process.argv.slice(2)

const slowModel = Layer.effect(
  LanguageModel,
  Effect.gen(function*() {
    const model = yield* LanguageModel
    const delay = yield* Config.integer("CRASH_TEST_MODEL_DELAY_MS").pipe(Config.withDefault(0))
    return { ...model, complete: (request) => Effect.zipRight(Effect.sleep(Duration.millis(delay)), model.complete(request)) }
  })
).pipe(Layer.provide(LanguageModelOffline))

const recorder = TelegramApiRecorder({
  echo: (message) =>
    Effect.flatMap(Effect.zip(FiberRef.get(CurrentUpdateId), FiberRef.get(CurrentMergedParts)), ([updateId, merged]) =>
      Effect.sync(() =>
        appendFileSync(
          sentFile ?? "/dev/null",
          JSON.stringify({
            update_id: Option.getOrNull(updateId),
            chat_id: message.chatId,
            text: message.text,
            merged: merged.map((part) => part.updateId)
          }) + "\n"
        )
      ))
})

const bot = botLayer<ConfigError.ConfigError | ConfigurationError | StoreError, TelegramApi>({
  telegram: Layer.effect(TelegramApi, TelegramApi),
  model: slowModel,
  stores: selectedStores,
  profile: selectedProfile
}).pipe(Layer.provideMerge(recorder))

Effect.gen(function*() {
  const result = yield* replay({ file: file ?? "", out: Option.none(), print: false })
  yield* Console.log(`replayed ${result.updates} updates, ${result.sent.length} bot messages`)
}).pipe(
  Effect.provide(bot),
  Effect.provide(NodeContext.layer),
  Logger.withMinimumLogLevel(LogLevel.Warning),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
