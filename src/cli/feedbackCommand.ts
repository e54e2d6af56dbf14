/**
 * `feedback export [--since DATE] [--kind negative|positive] --out FILE`: the answers users
 * reacted to, from the feedback kept in the configured store, as a regression set that
 * `replay FILE --expect FILE` reads (`../replay/FeedbackExport.ts`). An SQLite file is read
 * without taking the bot's single-instance lease, so the export runs next to a running bot.
 * Both are imported when the command runs.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { withModule } from "../effect/lazyLayer.ts"
import type { FeedbackExportOptions } from "../replay/FeedbackExport.ts"
import { describeCommand } from "./help.ts"

/** The export from the configured store (read as `usage report` reads it); how many answers the file holds. */
const runFeedbackExport = (options: FeedbackExportOptions) =>
  withModule(
    () => Promise.all([import("../replay/FeedbackExport.ts"), import("./usageReport.ts")]),
    ([feedback, usage]) => feedback.exportFeedback(options).pipe(Effect.provide(usage.reportStores))
  )

const exportCommand = Command.make(
  "export",
  {
    since: Options.date("since").pipe(
      Options.withDescription("only reactions from this date on (e.g. 2026-03-01, UTC); default: all the feedback kept"),
      Options.optional
    ),
    kind: Options.choice("kind", ["negative", "positive"]).pipe(
      Options.withDescription("only reactions of this kind; default: both"),
      Options.optional
    ),
    out: Options.file("out").pipe(Options.withDescription("the JSONL file to write (replaced if it exists)"))
  },
  ({ kind, out, since }) =>
    Effect.flatMap(
      runFeedbackExport({ since: Option.getOrUndefined(Option.map(since, (d) => d.getTime())), kind: Option.getOrUndefined(kind), out }),
      (count) => Console.log(`${count} answer${count === 1 ? "" : "s"} written to ${out}; check the bot against them with: replay ${out} --expect ${out}`)
    )
).pipe(
  Command.withDescription(describeCommand(
    "Write the answers users reacted to, from the feedback of the configured store, as JSONL: each question as an update, each answer as the expected reply, for replay --expect.",
    ["STORE", "SQLITE_PATH", "DATABASE_URL", "YDB_CONNECTION_STRING"]
  ))
)

export const feedbackCommand = Command.make("feedback").pipe(
  Command.withDescription(describeCommand("Feedback users gave on the bot's answers.", ["STORE"])),
  Command.withSubcommands([exportCommand])
)
