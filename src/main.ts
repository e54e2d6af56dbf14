/**
 * The command line: `npm start -- <command> [options]` (or the package's `dialog-bot` bin).
 * Each command lives in `src/cli/` and builds one layer graph from the configuration; this
 * file only lists them.
 */
import { Command } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Config, Console, Effect, Exit, Layer, LogLevel, Option } from "effect"
import { reportFailure } from "./cli/Failure.ts"
import { describeCommand, withCompleteHelp } from "./cli/help.ts"
import { chatCommand } from "./cli/chatCommand.ts"
import { runPolling, runWebhookServer } from "./cli/liveBot.ts"
import { pollCommand } from "./cli/pollCommand.ts"
import { serveCommand } from "./cli/serveCommand.ts"
import { webhookCommand } from "./cli/webhookCommand.ts"
import { demoFile, runReplay } from "./cli/offlineBot.ts"
import { replayCommand } from "./cli/replayCommand.ts"
import { migrateCommand } from "./cli/migrateCommand.ts"
import { StoreKind } from "./store/StoreConfig.ts"
import { withDemoStores } from "./store/Stores.ts"
import { observabilityLayer } from "./observability/Observability.ts"
import { loggingLayer } from "./runtime/Logging.ts"
import { ioFairScheduler } from "./runtime/Scheduler.ts"

const howToConnect = `
To run the bot for real:
  TELEGRAM_BOT_TOKEN=123:abc npm start          long polling (webhook server when WEBHOOK_URL is set)
  OPENAI_API_KEY=sk-... (or OPENAI_BASE_URL=…)  use a real language model instead of the offline one
  npm start -- chat                             talk to the bot in this terminal
  npm start -- replay FILE.jsonl --out out.jsonl  replay recorded updates
  npm start -- --help                           every command and option
`

const rootCommand = Command.make("dialog-bot", {}, () =>
  Effect.gen(function*() {
    const token = yield* Config.option(Config.redacted("TELEGRAM_BOT_TOKEN"))
    if (Option.isSome(token)) {
      const webhookUrl = yield* Config.option(Config.string("WEBHOOK_URL"))
      return yield* Option.isSome(webhookUrl) ? runWebhookServer() : runPolling({ dropWebhook: false })
    }
    yield* StoreKind // the demo runs on memory stores, but a wrong STORE is still refused
    yield* Console.error(`No TELEGRAM_BOT_TOKEN: replaying the bundled example conversation (${demoFile}).\n`)
    // The demo runs on a fresh in-memory database, so every run shows the whole conversation.
    yield* withDemoStores(runReplay(demoFile, Option.none(), Option.none()))
    yield* Console.error(howToConnect)
  })
).pipe(
  Command.withDescription(
    describeCommand(
      "A Telegram dialog bot on Effect. With no command: the bot if TELEGRAM_BOT_TOKEN is set (the webhook server when WEBHOOK_URL is set, else long polling), else a demo replay.",
      ["TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "STORE", "BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LOG_LEVEL", "LOG_FORMAT", "METRICS_PORT"]
    )
  ),
  Command.withSubcommands([replayCommand, chatCommand, migrateCommand, pollCommand, serveCommand, webhookCommand])
)

const cli = Command.run(rootCommand, { name: "dialog-bot", version: "0.1.0" })

// The logger is in place before the operators' layers start, so their lines (the metrics
// server's address) have the same format as every other.
const baseLayer = Layer.merge(NodeContext.layer, loggingLayer(LogLevel.Warning))

cli(process.argv).pipe(
  withCompleteHelp("dialog-bot", process.argv),
  Effect.provide(Layer.provideMerge(observabilityLayer, baseLayer)),
  Effect.withScheduler(ioFairScheduler),
  // Every failure ends as a line or two and an exit code (src/cli/Failure.ts), never a stack trace.
  Effect.matchCauseEffect({ onFailure: reportFailure, onSuccess: () => Effect.succeed(0) }),
  NodeRuntime.runMain({
    disableErrorReporting: true,
    disablePrettyLogger: true,
    // A signal interrupts the program: a normal stop, code 0.
    teardown: (exit, onExit) =>
      onExit(
        Exit.isSuccess(exit)
          ? typeof exit.value === "number" ? exit.value : 0
          : Cause.isInterruptedOnly(exit.cause) ? 0 : 1
      )
  })
)
