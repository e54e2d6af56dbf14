/**
 * `serve [--record FILE [--redact]]`: the webhook server until interrupted; also what
 * `npm start` runs with a token and `WEBHOOK_URL`. The server itself (src/cli/serve.ts) is
 * imported when the command runs, so `--help` loads none of it.
 */
import { Command, Options } from "@effect/cli"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"
import { liveBotVariables, liveCommand } from "./liveCommand.ts"

export const serveCommand = liveCommand("serve", Options.none, (_, recording) =>
  withModule(() => import("./serve.ts"), (serve) => serve.runWebhookServer(recording))).pipe(
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
