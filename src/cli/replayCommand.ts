/**
 * `replay <file.jsonl>`: recorded updates through the whole bot, transcript on stdout; with
 * `--expect` a regression check that exits with code 1 and a diff when the replies differ.
 */
import { Args, Command, Options } from "@effect/cli"
import { Config, Console, Effect, Option } from "effect"
import { Settings } from "../config.ts"
import { parseClock, withFixedClock } from "../replay/FixedClock.ts"
import { replayBot } from "../replay/OfflineBot.ts"
import type { ExpectMode } from "../replay/Transcript.ts"
import { StoreKind } from "../store/StoreConfig.ts"
import { replayReported } from "./offlineBot.ts"
import { describeCommand } from "./help.ts"

/** `REPLAY_CLOCK`: the instant the clock is fixed at when `--clock` is not given. */
const replayClock = Config.string("REPLAY_CLOCK")

/** The variable of `replay` alone; read as the fallback of `--clock`. */
export class ReplayConfig extends Settings<ReplayConfig>()("dialog-bot/ReplayConfig", Config.all({ clock: Config.option(replayClock) })) {}

export interface ReplayCommandOptions {
  readonly file: string
  readonly out: Option.Option<string>
  readonly concurrency: Option.Option<number>
  readonly expect: Option.Option<string>
  readonly expectMode: ExpectMode
  /** ISO 8601 instant the clock is fixed at during the replay. */
  readonly clock: Option.Option<string>
}

/**
 * The replay as the command runs it: the bot on embedded layers (`replayBot`, memory stores
 * whatever `STORE` says; `STORE` is still checked, so a typo is not silently ignored), the
 * clock fixed when asked.
 */
export const runReplayCommand = (options: ReplayCommandOptions) =>
  Effect.gen(function*() {
    yield* StoreKind
    const clock = Option.isSome(options.clock) ? Option.some(yield* parseClock(options.clock.value)) : Option.none()
    const run = replayReported({
      file: options.file,
      out: options.out,
      expect: options.expect,
      expectMode: options.expectMode
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
 * The replay with the failures of its check turned into an outcome: a difference from the
 * stored transcript or a broken transcript file (one line per problem) ends in exit code 1 and a
 * readable report, never a stack trace. A broken profile or setting is reported as by every
 * command (src/cli/Failure.ts, exit code 2).
 */
export const replayOutcome = (options: ReplayCommandOptions) =>
  runReplayCommand(options).pipe(
    Effect.as<ReplayOutcome>({ exitCode: 0, report: Option.none() }),
    Effect.catchTags({
      ReplayMismatch: (mismatch) => Effect.succeed(failed(mismatch.report)),
      TranscriptFileError: (error) =>
        Effect.succeed(failed(error.message.split("\n").map((line) => `replay --expect: ${line}`).join("\n")))
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
      Options.withPseudoName("instant"),
      Options.withDescription("fix the clock at this ISO 8601 instant, e.g. 2026-01-15T10:00:00Z (or REPLAY_CLOCK)"),
      Options.withFallbackConfig(replayClock),
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
    describeCommand(
      "Replay recorded updates through the dispatcher and the whole pipeline; print the transcript. With --expect, check the replies against a stored transcript. " +
        "Replay always runs on fresh in-memory stores, whatever STORE says (STORE is still checked).",
      ["BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "REPLAY_CLOCK", "MAX_CONCURRENT_DIALOGS", "STORE", "LOG_LEVEL"]
    )
  )
)
