/**
 * `poll [--drop-webhook] [--record FILE [--redact]]`: long polling against the Bot API until
 * interrupted; also what `npm start` runs with a token and without `WEBHOOK_URL`.
 */
import { sayToOperator } from "../runtime/Logging.ts"
import { Command, Options } from "@effect/cli"
import { Effect, Option } from "effect"
import { pollerSingleton } from "../cluster/ClusterConfig.ts"
import { type PollerOptions, runPoller } from "../telegram/Poller.ts"
import { PollConfig } from "../telegram/TelegramConfig.ts"
import { drainOnClose } from "../telegram/WebhookServer.ts"
import { describeCommand } from "./help.ts"
import { announceBot, announceLiveModel, liveBotVariables, liveCommand, type Recording, reportStop, runLive, runOnce } from "./liveBot.ts"

/** Long polling until interrupted. */
export const runPolling = (options: PollerOptions, recording: Recording = Option.none()) =>
  runLive(PollConfig.fromEnv, recording, Effect.gen(function*() {
    yield* announceLiveModel
    yield* announceBot
    yield* reportStop(drainOnClose)
    yield* sayToOperator("polling for updates; Ctrl-C stops intake, lets the dialogs in flight finish, and exits")
    // With CLUSTER=true one replica polls at a time; another takes over when it stops or dies.
    yield* runOnce(pollerSingleton, runPoller(options))
  }))

export const pollCommand = liveCommand(
  "poll",
  Options.all({
    dropWebhook: Options.boolean("drop-webhook").pipe(
      Options.withDescription("delete a webhook first (Telegram refuses getUpdates while one is set); pending updates are kept")
    )
  }),
  runPolling
).pipe(Command.withDescription(describeCommand("Run the bot with long polling (getUpdates). Needs TELEGRAM_BOT_TOKEN.", [
  ...liveBotVariables,
  "TELEGRAM_POLL_TIMEOUT",
  "TELEGRAM_POLL_LIMIT",
  "TELEGRAM_ALLOWED_UPDATES"
])))
