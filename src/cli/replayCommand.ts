/** `replay <file.jsonl>`: recorded updates through the whole bot, transcript on stdout. */
import { Args, Command, Options } from "@effect/cli"
import { runReplay } from "./offlineBot.ts"

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
    )
  },
  ({ concurrency, file, out }) => runReplay(file, out, concurrency)
).pipe(Command.withDescription("Replay recorded updates through the dispatcher and the whole pipeline; print the transcript."))

