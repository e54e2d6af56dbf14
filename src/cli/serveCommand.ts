/** `serve [--record FILE [--redact]]`: the webhook server until interrupted. */
import { Command } from "@effect/cli"
import { recordingFrom, recordingOptions, runWebhookServer } from "./liveBot.ts"
import { describeCommand } from "./help.ts"

export const serveCommand = Command.make("serve", recordingOptions, (options) => runWebhookServer(recordingFrom(options))).pipe(
  Command.withDescription(
    describeCommand(
      "Run the bot behind a webhook: POST WEBHOOK_PATH on HOST:PORT, GET /healthz. Needs TELEGRAM_BOT_TOKEN and WEBHOOK_SECRET; registers WEBHOOK_URL when set.",
      [
        "TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL", "BOT_PROFILE", "OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "STORE", "SQLITE_PATH", "YDB_CONNECTION_STRING", "LOG_LEVEL", "LOG_FORMAT", "METRICS_PORT",
        "CLUSTER", "RUNNER_HOST", "RUNNER_PORT",
        "HOST",
        "PORT",
        "WEBHOOK_PATH",
        "WEBHOOK_SECRET",
        "WEBHOOK_ALLOW_NO_SECRET",
        "WEBHOOK_URL",
        "WEBHOOK_MAX_BODY_BYTES"
      ]
    )
  )
)
