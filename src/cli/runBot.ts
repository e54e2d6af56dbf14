/**
 * The command line as a function: `runBot()` is the project's own bot (`npm start`, the
 * `dialog-bot` bin); `runBot(definition)` runs a team's bot — its profile, tools, commands and
 * services — with the same commands, settings, signals, error reports and exit codes:
 *
 * ```ts
 * import { runBot } from "effect-telegram-dialog-bot/cli"
 * runBot({ profile: "./profile.json", tools: [...builtinTools, orderStatusTool], services: OrderServiceLive })
 * ```
 *
 * Each command lives in `src/cli/`; this module lists them and runs the one the arguments name.
 * Only the commands' definitions are loaded at start: each imports its implementation when it
 * runs, so `--help` costs @effect/cli and the definitions only (about 700 modules of the 1 240
 * the whole bot loads).
 */
import { Command } from "@effect/cli"
import * as NodeContext from "@effect/platform-node/NodeContext"
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Config, ConfigError, Console, Effect, Exit, Layer, Option } from "effect"
import { settingsReference } from "../config.ts"
import { lazyLayer, withModule } from "../effect/lazyLayer.ts"
import { BotAssembly, BotAssemblyOf, type BotDefinition } from "../runtime/BotDefinition.ts"
import { logFormat, loggingLayer, operatorLine } from "../runtime/Logging.ts"
import { tuneHeapGrowth } from "../runtime/HeapGrowth.ts"
import { ioFairScheduler } from "../runtime/Scheduler.ts"
import { StoreKind } from "../store/StoreConfig.ts"
import { BotToken, WebhookUrl } from "../telegram/TelegramConfig.ts"
import { chatCommand } from "./chatCommand.ts"
import { reportFailure } from "./Failure.ts"
import { feedbackCommand } from "./feedbackCommand.ts"
import { asksForHelp, describeCommand, withCompleteHelp } from "./help.ts"
import { migrateCommand } from "./migrateCommand.ts"
import { pollCommand } from "./pollCommand.ts"
import { replayCommand } from "./replayCommand.ts"
import { serve, serveCommand } from "./serveCommand.ts"
import { toolsCommand } from "./toolsCommand.ts"
import { usageCommand } from "./usageCommand.ts"
import { webhookCommand } from "./webhookCommand.ts"

/** The bundled conversation the project's own bot replays without a token. */
const demoFile = new URL("../../examples/conversation.jsonl", import.meta.url).pathname

/** The tracer and the metrics server, imported only when a command runs (never for `--help`). */
const observability = lazyLayer(() => import("../observability/Observability.ts").then((m) => m.observabilityLayer))

/** The hints printed after the demo: `run` starts the bot, `withArgs` is followed by a command. */
const howToConnect = (run: string, withArgs: string) => {
  const rows: ReadonlyArray<readonly [string, string]> = [
    [`TELEGRAM_BOT_TOKEN=123:abc ${run}`, "long polling (webhook server when WEBHOOK_URL is set)"],
    ["OPENAI_API_KEY=sk-... (or OPENAI_BASE_URL=…)", "use a real language model instead of the offline one"],
    [`${withArgs} chat`, "talk to the bot in this terminal"],
    [`${withArgs} replay FILE.jsonl --out out.jsonl`, "replay recorded updates"],
    [`${withArgs} --help`, "every command and option"]
  ]
  const width = Math.max(...rows.map(([command]) => command.length)) + 2
  return `\nTo run the bot for real:\n${rows.map(([command, what]) => `  ${command.padEnd(width)}${what}`).join("\n")}\n`
}

export interface RunBotOptions {
  /** The program's name in help and usage lines. */
  readonly name?: string
  readonly version?: string
  /** How a person starts it, for the hints printed without a token (default: the name). */
  readonly invocation?: string
  /** The arguments; `process.argv` when not given. */
  readonly argv?: ReadonlyArray<string>
}

/**
 * The command line (exported for the tests of its help). With no command: the live bot when `TELEGRAM_BOT_TOKEN` is set (the webhook server when
 * `WEBHOOK_URL` is set, else long polling); else the bot's demo conversation replayed, or, for a
 * bot without one, the missing token reported.
 */
export const commandLine = (program: string, invocation: { readonly run: string; readonly withArgs: string }) =>
  Command.make(program, {}, () =>
    Effect.gen(function*() {
      const token = yield* Config.option(BotToken)
      if (Option.isSome(token)) {
        return yield* Option.isSome(yield* WebhookUrl)
          ? serve(Option.none())
          : withModule(() => import("./poll.ts"), (poll) => poll.runPolling({ dropWebhook: false }))
      }
      yield* StoreKind // the demo runs on memory stores, but a wrong STORE is still refused
      const { demo } = yield* BotAssembly
      if (demo === undefined) {
        return yield* Effect.fail(ConfigError.MissingData(["TELEGRAM_BOT_TOKEN"], "the bot's token from @BotFather"))
      }
      yield* Console.error(`No TELEGRAM_BOT_TOKEN: replaying the bundled example conversation (${demo}).\n`)
      // The demo runs on a fresh in-memory database, so every run shows the whole conversation.
      yield* withModule(
        () => Promise.all([import("../store/Stores.ts"), import("./offlineBot.ts")]),
        ([stores, offline]) => stores.withDemoStores(offline.runReplay(demo, Option.none(), Option.none()))
      )
      yield* Console.error(howToConnect(invocation.run, invocation.withArgs))
    })).pipe(
      Command.withDescription(
        describeCommand(
          "A Telegram dialog bot on Effect. With no command: the bot if TELEGRAM_BOT_TOKEN is set (the webhook server when WEBHOOK_URL is set, else long polling), else a demo replay.",
          ["TELEGRAM_BOT_TOKEN", "WEBHOOK_URL", "STORE", "BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "LOG_LEVEL", "LOG_FORMAT", "METRICS_PORT"]
        )
      ),
      Command.withSubcommands([replayCommand, chatCommand, migrateCommand, pollCommand, serveCommand, webhookCommand, toolsCommand, usageCommand, feedbackCommand])
    )

/**
 * Keeps SIGTERM and SIGINT for the life of the process. The runtime interrupts the program at
 * the first one and then stops listening, so a second (Ctrl-C twice, or a signal to `npm
 * start`'s whole process group, which npm passes on as well) would kill the process mid-drain
 * and leave the single-instance lease behind. With these listeners a later signal is only
 * noted: the drain goes on until `SHUTDOWN_DEADLINE`, and only SIGKILL cuts it short.
 */
const drainThroughRepeatedSignals = Effect.flatMap(logFormat, (format) =>
  Effect.sync(() => {
    let received = 0
    const onSignal = (signal: NodeJS.Signals) => {
      received++
      if (received > 1) {
        process.stderr.write(`${operatorLine(format, `${signal} again: still stopping, the dialogs in flight finish first (SIGKILL stops at once)`, "WARN")}\n`)
      }
    }
    process.on("SIGINT", onSignal)
    process.on("SIGTERM", onSignal)
  }))

/**
 * Runs the command line until it ends, then exits with its code: 0, 1 for a failure, 2 for a
 * configuration or usage error. SIGTERM and SIGINT stop intake and drain (code 0); a second
 * one does not cut the drain short.
 */
export const runBot = <R = never, E = never>(definition?: BotDefinition<R, E>, options: RunBotOptions = {}): void => {
  tuneHeapGrowth()
  const program = options.name ?? "dialog-bot"
  const argv = options.argv ?? process.argv
  const bot = BotAssemblyOf(definition ?? { demo: demoFile })
  const run = options.invocation ?? (definition === undefined ? "npm start" : program)
  const withArgs = options.invocation === undefined && definition === undefined ? "npm start --" : run
  const cli = Command.run(commandLine(program, { run, withArgs }), {
    name: program,
    version: options.version ?? "0.1.0"
  })

  // The logger is in place before the operators' layers start, so their lines (the metrics
  // server's address) have the same format as every other.
  const baseLayer = Layer.mergeAll(NodeContext.layer, loggingLayer, bot)
  const commands = cli(argv).pipe(withCompleteHelp(program, argv))

  // `--help` and `--version` start nothing for operators: no tracer, no metrics server.
  const withOperators = asksForHelp(argv) ? commands : Effect.provide(commands, observability)

  Effect.zipRight(drainThroughRepeatedSignals, withOperators).pipe(
    Effect.provide(baseLayer),
    Effect.withScheduler(ioFairScheduler),
    // Every failure ends as a line or two and an exit code (src/cli/Failure.ts), never a stack
    // trace; a team's bot sends its people to its own help, not to this project's pages.
    Effect.matchCauseEffect({
      onFailure: (cause) => reportFailure(cause, definition === undefined ? settingsReference : `\`${withArgs} --help\``),
      onSuccess: () => Effect.succeed(0)
    }),
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
}
