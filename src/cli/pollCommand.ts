/** `poll [--drop-webhook] [--record FILE [--redact]]`: long polling against the Bot API until interrupted. */
import { Command, Options } from "@effect/cli"
import { recordingFrom, recordingOptions, runPolling } from "./liveBot.ts"
import { describeCommand } from "./help.ts"

export const pollCommand = Command.make(
  "poll",
  {
    dropWebhook: Options.boolean("drop-webhook").pipe(
      Options.withDescription("delete a webhook first (Telegram refuses getUpdates while one is set); pending updates are kept")
    ),
    ...recordingOptions
  },
  ({ dropWebhook, ...recording }) => runPolling({ dropWebhook }, recordingFrom(recording))
).pipe(Command.withDescription(describeCommand("Run the bot with long polling (getUpdates). Needs TELEGRAM_BOT_TOKEN.", [
  "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "STORE", "SQLITE_PATH", "YDB_CONNECTION_STRING", "LOG_LEVEL", "LOG_FORMAT", "METRICS_PORT",
  "CLUSTER", "RUNNER_HOST", "RUNNER_PORT",
  "TELEGRAM_POLL_TIMEOUT",
  "TELEGRAM_POLL_LIMIT",
  "TELEGRAM_ALLOWED_UPDATES"
])))
