/** `serve [--record FILE [--redact]]`: the webhook server until interrupted. */
import { Command } from "@effect/cli"
import { recordingFrom, recordingOptions, runWebhookServer } from "./liveBot.ts"

export const serveCommand = Command.make("serve", recordingOptions, (options) => runWebhookServer(recordingFrom(options))).pipe(
  Command.withDescription(
    "Run the bot behind a webhook: POST WEBHOOK_PATH on HOST:PORT, GET /healthz. Needs TELEGRAM_BOT_TOKEN and WEBHOOK_SECRET; registers WEBHOOK_URL when set."
  )
)
