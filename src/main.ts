/**
 * The command line: `npm start -- <command> [options]` (or the package's `dialog-bot` bin).
 * Each command builds one layer graph from the configuration and hands updates to the
 * dispatcher.
 */
import { Args, Command, Options } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Config, type ConfigError, Console, Effect, Layer, LogLevel, Option } from "effect"
import { chat } from "./cli/chat.ts"
import { replay } from "./cli/replay.ts"
import { DispatcherConfig, DispatcherConfigSchema } from "./config.ts"
import type { ConfigurationError } from "./domain/errors.ts"
import { LanguageModel } from "./llm/LanguageModel.ts"
import { botLayer } from "./runtime/BotLayer.ts"
import { selectedModel, selectedProfile, selectedStores } from "./runtime/Environment.ts"
import { loggingLayer } from "./runtime/Logging.ts"
import { TelegramApi } from "./telegram/TelegramApi.ts"
import { TelegramConsole, TelegramRecorderLayer } from "./telegram/TelegramRecorder.ts"

const demoFile = new URL("../examples/conversation.jsonl", import.meta.url).pathname

/** The bot on embedded layers, with the given offline Telegram (recorder or console). */
const offlineBot = <T, E>(telegram: Layer.Layer<T, E>, concurrency: Option.Option<number>) =>
  botLayer<ConfigError.ConfigError | ConfigurationError, TelegramApi>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model: selectedModel,
    stores: selectedStores,
    profile: selectedProfile,
    dispatcherConfig: Layer.effect(
      DispatcherConfig,
      Effect.map(DispatcherConfigSchema, (c) => ({
        ...c,
        maxConcurrentDialogs: Option.getOrElse(concurrency, () => c.maxConcurrentDialogs)
      }))
    )
  }).pipe(Layer.provideMerge(telegram))

const announceModel = Effect.flatMap(LanguageModel, (m) => Console.error(`model: ${m.description}`))

const runReplay = (file: string, out: Option.Option<string>, concurrency: Option.Option<number>) =>
  Effect.gen(function*() {
    yield* announceModel
    const result = yield* replay({ file, out, print: true })
    yield* Console.error(
      `replayed ${result.updates} updates${result.badLines > 0 ? ` (${result.badLines} bad lines skipped)` : ""}, ${result.sent.length} bot messages`
    )
  }).pipe(Effect.provide(offlineBot(TelegramRecorderLayer(), concurrency)))

const replayCommand = Command.make(
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

const chatCommand = Command.make(
  "chat",
  {
    userId: Options.integer("user-id").pipe(Options.withDefault(100_000_001), Options.withDescription("your Telegram user id")),
    name: Options.text("name").pipe(Options.withDefault("You"), Options.withDescription("your first name"))
  },
  ({ name, userId }) =>
    Effect.zipRight(announceModel, chat({ userId, firstName: name })).pipe(
      Effect.provide(offlineBot(TelegramConsole, Option.none()))
    )
).pipe(Command.withDescription("Chat with the bot in this terminal, as a Telegram user."))

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
      return yield* Console.error("TELEGRAM_BOT_TOKEN is set, but this build has no Bot API client yet; see README.")
    }
    yield* Console.error(`No TELEGRAM_BOT_TOKEN: replaying the bundled example conversation (${demoFile}).\n`)
    yield* runReplay(demoFile, Option.none(), Option.none())
    yield* Console.error(howToConnect)
  })
).pipe(
  Command.withDescription("A Telegram dialog bot on Effect. With no command: run the bot if configured, else a demo replay."),
  Command.withSubcommands([replayCommand, chatCommand])
)

const cli = Command.run(rootCommand, { name: "dialog-bot", version: "0.1.0" })

cli(process.argv).pipe(
  Effect.provide(Layer.merge(NodeContext.layer, loggingLayer(LogLevel.Warning))),
  NodeRuntime.runMain({ disableErrorReporting: false })
)
