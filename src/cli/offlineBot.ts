/**
 * What the offline commands share on the command line: the model announcement, a replay with
 * its summary on stderr, and the demo `npm start` runs without a token. The bot they run on
 * is `offlineBot` (src/replay/OfflineBot.ts).
 */
import { sayToOperator } from "../runtime/Logging.ts"
import { Console, Effect, Option } from "effect"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { offlineBot } from "../replay/OfflineBot.ts"
import { replay, type ReplayOptions, replaySummary } from "../replay/Replay.ts"
import { TelegramApiRecorder } from "../telegram/TelegramRecorder.ts"

export const announceModel = Effect.flatMap(LanguageModel, (m) => sayToOperator(`model: ${m.description}`))

/** A replay as the commands run it: the model announced, the transcript printed, the summary (and a match) on stderr. */
export const replayReported = (options: Omit<ReplayOptions, "print">) =>
  Effect.gen(function*() {
    yield* announceModel
    const result = yield* replay({ ...options, print: true })
    yield* Console.error(replaySummary(result))
    const expect = options.expect ?? Option.none()
    if (Option.isSome(expect)) {
      yield* Console.error(`replies match ${expect.value} (${options.expectMode ?? "exact"})`)
    }
  })

/** The demo: a replay on the stores `STORE` names (the caller picks them), the Bot API recorded. */
export const runReplay = (file: string, out: Option.Option<string>, concurrency: Option.Option<number>) =>
  replayReported({ file, out }).pipe(Effect.provide(offlineBot({ telegram: TelegramApiRecorder(), concurrency })))
