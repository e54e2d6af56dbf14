/**
 * The command-line side of `poll` and `serve`: their `--record FILE [--redact]` options and the
 * variables their `--help` names first. It loads no part of the bot: the live bot itself
 * (src/cli/liveBot.ts) is imported when one of the commands runs.
 */
import { Command, Options } from "@effect/cli"
import { type Effect, Option } from "effect"
import type { UpdateRecorderOptions } from "../replay/UpdateRecorder.ts"

/** What `--help` of `poll` and `serve` names first: the variables of the live bot. */
export const liveBotVariables: ReadonlyArray<string> = [
  "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "STORE", "SQLITE_PATH", "YDB_CONNECTION_STRING", "LOG_LEVEL", "LOG_FORMAT", "METRICS_PORT",
  "CLUSTER", "RUNNER_HOST", "RUNNER_PORT"
]

/** Options of `--record FILE [--redact]`: every incoming update appended to a JSONL file `replay` reads. */
export type Recording = Option.Option<UpdateRecorderOptions>

/** The `--record FILE` and `--redact` options of `serve` and `poll`. */
const recordingOptions = {
  record: Options.file("record").pipe(
    Options.withDescription("append every incoming update to FILE, one JSON per line (the format replay reads)"),
    Options.optional
  ),
  redact: Options.boolean("redact").pipe(
    Options.withDescription("with --record: replace names, usernames, phone numbers and text outside the messages by placeholders")
  )
}

/**
 * A command of the live bot: `options` and the `--record FILE [--redact]` options; `run` gets
 * the command's own options and the recording asked for.
 */
export const liveCommand = <Name extends string, O, A, E, R>(
  name: Name,
  options: Options.Options<O>,
  run: (options: O, recording: Recording) => Effect.Effect<A, E, R>
) =>
  Command.make(name, { own: options, recording: recordingOptions }, ({ own, recording }) =>
    run(own, Option.map(recording.record, (file) => ({ file, redact: recording.redact }))))
