/**
 * `poll [--drop-webhook] [--record FILE [--redact]]`: long polling against the Bot API until
 * interrupted; also what `npm start` runs with a token and without `WEBHOOK_URL`. The loop
 * (src/cli/poll.ts) is imported when the command runs.
 */
import { Command, Options } from "@effect/cli"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"
import { liveBotVariables, liveCommand } from "./liveCommand.ts"

export const pollCommand = liveCommand(
  "poll",
  Options.all({
    dropWebhook: Options.boolean("drop-webhook").pipe(
      Options.withDescription("delete a webhook first (Telegram refuses getUpdates while one is set); pending updates are kept")
    )
  }),
  (options, recording) => withModule(() => import("./poll.ts"), (poll) => poll.runPolling(options, recording))
).pipe(Command.withDescription(describeCommand("Run the bot with long polling (getUpdates). Needs TELEGRAM_BOT_TOKEN.", [
  ...liveBotVariables,
  "TELEGRAM_POLL_TIMEOUT",
  "TELEGRAM_POLL_LIMIT",
  "TELEGRAM_ALLOWED_UPDATES"
])))
