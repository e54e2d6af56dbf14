/**
 * A replay for the crash test: the bot as `replay` builds it (stores from STORE/SQLITE_PATH,
 * the offline model, the dispatcher and the pipeline), with two test-only changes:
 * - every model call first waits `CRASH_TEST_MODEL_DELAY_MS`, so that a kill lands mid-run;
 * - every message the bot sends is appended at once to the file given as the second argument
 *   (one JSON line `{update_id, chat_id, text, merged}`, `merged` the updates answered in the
 *   same turn, with `MERGE_WINDOW`), so that what was sent before a kill is known.
 *
 *   node test/crash/slowReplay.mjs updates.jsonl sent.jsonl
 *
 * Plain JavaScript on the compiled dist/ (built once per test run by test/support/buildOnce.ts),
 * as the process tests start the bot: a start takes about half the time it takes through tsx
 * on the sources.
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { appendFileSync } from "node:fs"
import { Config, Console, Duration, Effect, FiberRef, Layer, Logger, LogLevel, Option } from "effect"
import { CurrentUpdateId } from "../../dist/domain/CurrentUpdate.js"
import { CurrentMergedParts } from "../../dist/domain/MergedTurn.js"
import { LanguageModel } from "../../dist/llm/LanguageModel.js"
import { LanguageModelOffline } from "../../dist/llm/OfflineModel.js"
import { botLayer } from "../../dist/runtime/BotLayer.js"
import { selectedProfile, selectedStores } from "../../dist/runtime/Environment.js"
import { replay } from "../../dist/replay/Replay.js"
import { TelegramApi } from "../../dist/telegram/TelegramApi.js"
import { TelegramApiRecorder } from "../../dist/telegram/TelegramRecorder.js"

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

const bot = botLayer({
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
