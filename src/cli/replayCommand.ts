/**
 * `replay <file.jsonl>`: recorded updates through the whole bot, transcript on stdout; with
 * `--expect` a regression check that exits with code 1 and a diff when the replies differ.
 */
import { Args, Command, Options } from "@effect/cli"
import { Config, type ConfigError, Console, Effect, Layer, Option } from "effect"
import type { ConfigurationError } from "../domain/errors.ts"
import { botLayer } from "../runtime/BotLayer.ts"
import { selectedModel, selectedProfile } from "../runtime/Environment.ts"
import { StoresMemory } from "../store/memory/MemoryStores.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { TelegramApiRecorder } from "../telegram/TelegramRecorder.ts"
import { announceModel, dispatcherConfigWith } from "./offlineBot.ts"
import { type ExpectMode, parseClock, replay, withFixedClock } from "./replay.ts"

/**
 * The bot a replay runs on: the configured model and profile, the Bot API recorded, and
 * stores in memory whatever `STORE` says — every replay starts from no clients, no history
 * and an empty inbox, so the same recording gives the same transcript on every run (a
 * database would remember the updates of the last run and skip them as duplicates).
 */
export const replayBot = (concurrency: Option.Option<number>) =>
  botLayer<ConfigError.ConfigError | ConfigurationError, TelegramApi>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model: selectedModel,
    stores: StoresMemory,
    profile: selectedProfile,
    dispatcherConfig: dispatcherConfigWith(concurrency)
  }).pipe(Layer.provideMerge(TelegramApiRecorder()))

export interface ReplayCommandOptions {
  readonly file: string
  readonly out: Option.Option<string>
  readonly concurrency: Option.Option<number>
  readonly expect: Option.Option<string>
  readonly expectMode: ExpectMode
  /** ISO 8601 instant the clock is fixed at during the replay. */
  readonly clock: Option.Option<string>
}

/** The replay as the command runs it: the bot on embedded layers, the clock fixed when asked. */
export const runReplayCommand = (options: ReplayCommandOptions) =>
  Effect.gen(function*() {
    const clock = Option.isSome(options.clock) ? Option.some(yield* parseClock(options.clock.value)) : Option.none()
    const run = Effect.gen(function*() {
      yield* announceModel
      const result = yield* replay({
        file: options.file,
        out: options.out,
        print: true,
        expect: options.expect,
        expectMode: options.expectMode
      })
      yield* Console.error(
        `replayed ${result.updates} updates${
          result.badLines > 0 ? ` (${result.badLines} bad lines skipped)` : ""
        }, ${result.sent.length} bot messages`
      )
      if (Option.isSome(options.expect)) {
        yield* Console.error(`replies match ${options.expect.value} (${options.expectMode})`)
      }
    }).pipe(Effect.provide(replayBot(options.concurrency)))
    return yield* Option.match(clock, { onNone: () => run, onSome: (millis) => withFixedClock(millis)(run) })
  })

/** How a replay command ended: the exit code, and what to print on stderr about a failure. */
export interface ReplayOutcome {
  readonly exitCode: 0 | 1
  readonly report: Option.Option<string>
}

const failed = (report: string): ReplayOutcome => ({ exitCode: 1, report: Option.some(report) })

/**
 * The replay with its expected failures turned into an outcome: a difference from the stored
 * transcript, a broken transcript file or a broken profile ends in exit code 1 and a readable
 * report, never a stack trace.
 */
export const replayOutcome = (options: ReplayCommandOptions) =>
  runReplayCommand(options).pipe(
    Effect.as<ReplayOutcome>({ exitCode: 0, report: Option.none() }),
    Effect.catchTags({
      ReplayMismatch: (mismatch) => Effect.succeed(failed(mismatch.report)),
      TranscriptFileError: (error) => Effect.succeed(failed(`replay --expect: ${error.message}`)),
      ConfigurationError: (error) => Effect.succeed(failed(`replay: ${error.source}: ${error.message}`))
    })
  )

/** Sets the exit code of the process without ending it, so scopes still close in order. */
const setExitCode = (code: number) =>
  Effect.sync(() => {
    process.exitCode = code
  })

export const replayCommand = Command.make(
  "replay",
  {
    file: Args.file({ name: "file.jsonl", exists: "yes" }).pipe(Args.withDescription("one Telegram Update JSON per line")),
    out: Options.file("out").pipe(
      Options.withDescription("write every bot message as a JSON line {update_id, chat_id, text}"),
      Options.optional
    ),
    concurrency: Options.integer("concurrency").pipe(
      Options.withDescription("dialogs running at once (default MAX_CONCURRENT_DIALOGS or 64)"),
      Options.optional
    ),
    expect: Options.file("expect", { exists: "yes" }).pipe(
      Options.withDescription(
        "a stored transcript (the --out format): the replies must match it, else a diff is printed and the exit code is 1"
      ),
      Options.optional
    ),
    expectMode: Options.choice("expect-mode", ["exact", "shape"] as const).pipe(
      Options.withDescription("exact: the same texts per update; shape: the same number of replies per update (live models)"),
      Options.withDefault("exact" as const)
    ),
    clock: Options.text("clock").pipe(
      Options.withDescription("fix the clock at this ISO 8601 instant, e.g. 2026-01-15T10:00:00Z (or REPLAY_CLOCK)"),
      Options.withFallbackConfig(Config.string("REPLAY_CLOCK")),
      Options.optional
    )
  },
  (options) =>
    Effect.flatMap(replayOutcome(options), (outcome) =>
      Option.match(outcome.report, {
        onNone: () => Effect.void,
        onSome: (report) => Effect.zipRight(Console.error(report), setExitCode(outcome.exitCode))
      }))
).pipe(
  Command.withDescription(
    "Replay recorded updates through the dispatcher and the whole pipeline; print the transcript. With --expect, check the replies against a stored transcript."
  )
)
