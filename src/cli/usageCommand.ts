/**
 * `usage report [--since DATE] [--csv]`: tokens and cost per user and per model from the
 * ledger of the configured store, priced with the profile's price table (`BOT_PROFILE`); the
 * report (src/cli/usageReport.ts) is imported when the command runs.
 */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"

const reportCommand = Command.make(
  "report",
  {
    since: Options.date("since").pipe(
      Options.withDescription("count from this date (e.g. 2026-03-01, UTC); default: everything in the ledger"),
      Options.optional
    ),
    csv: Options.boolean("csv").pipe(Options.withDescription("print CSV instead of tables"))
  },
  ({ csv, since }) =>
    withModule(() => import("./usageReport.ts"), (usage) =>
      Effect.flatMap(usage.runUsageReport(Option.match(since, { onNone: () => 0, onSome: (d) => d.getTime() }), csv), Console.log))
).pipe(
  Command.withDescription(describeCommand(
    "Print tokens and cost per user and per model from the usage ledger of the configured store, priced with the profile's price table.",
    ["STORE", "SQLITE_PATH", "DATABASE_URL", "YDB_CONNECTION_STRING", "BOT_PROFILE"]
  ))
)

export const usageCommand = Command.make("usage").pipe(
  Command.withDescription(describeCommand("Token usage and its cost.", ["STORE", "BOT_PROFILE"])),
  Command.withSubcommands([reportCommand])
)
