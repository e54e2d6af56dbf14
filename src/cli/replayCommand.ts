/**
 * `replay <file.jsonl>`: recorded updates through the whole bot, transcript on stdout; with
 * `--expect` a regression check that exits with code 1 and a diff when the replies differ. The
 * replay itself (src/cli/replay.ts) is imported when the command runs.
 */
import { Args, Command, Options } from "@effect/cli"
import { Config, Console, Effect, Option } from "effect"
import { Settings } from "../config.ts"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"

/** `REPLAY_CLOCK`: the instant the clock is fixed at when `--clock` is not given. */
const replayClock = Config.string("REPLAY_CLOCK")

/** The variable of `replay` alone; read as the fallback of `--clock`. */
export class ReplayConfig extends Settings<ReplayConfig>()("dialog-bot/ReplayConfig", Config.all({ clock: Config.option(replayClock) })) {}

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
    Effect.flatMap(withModule(() => import("./replay.ts"), (replay) => replay.replayOutcome(options)), (outcome) =>
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
