/**
 * `serve [--record FILE [--redact]]`: the webhook server until interrupted; also what
 * `npm start` runs with a token and `WEBHOOK_URL`. The port is taken first, answering 503
 * until the bot is up (src/telegram/WebhookPort.ts); the bot and its server (src/cli/serve.ts)
 * are imported then, so `--help` loads none of it and the port opens well within a second.
 */
import { Command, Options } from "@effect/cli"
import { Effect } from "effect"
import { withModule } from "../effect/lazyLayer.ts"
import { WebhookConfig } from "../telegram/TelegramConfig.ts"
import { takeWebhookPort } from "../telegram/WebhookPort.ts"
import { describeCommand } from "./help.ts"
import { liveBotVariables, liveCommand, type Recording } from "./liveCommand.ts"

/** The webhook server until interrupted, on the port taken before the bot is built: `serve`, and `npm start` with `WEBHOOK_URL`. */
export const serve = (recording: Recording) =>
  Effect.flatMap(takeWebhookPort.pipe(Effect.provide(WebhookConfig.fromEnv)), (port) =>
    withModule(() => import("./serve.ts"), (server) => server.runWebhookServer(port, recording))).pipe(Effect.scoped)

export const serveCommand = liveCommand("serve", Options.none, (_, recording) => serve(recording)).pipe(
  Command.withDescription(
    describeCommand(
      "Run the bot behind a webhook: POST WEBHOOK_PATH on HOST:PORT, GET /healthz. Needs TELEGRAM_BOT_TOKEN and WEBHOOK_SECRET; registers WEBHOOK_URL when set.",
      [
        ...liveBotVariables,
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
