/** `poll [--drop-webhook] [--record FILE [--redact]]`: long polling against the Bot API until interrupted. */
import { Command, Options } from "@effect/cli"
import { recordingFrom, recordingOptions, runPolling } from "./liveBot.ts"

export const pollCommand = Command.make(
  "poll",
  {
    dropWebhook: Options.boolean("drop-webhook").pipe(
      Options.withDescription("delete a webhook first (Telegram refuses getUpdates while one is set); pending updates are kept")
    ),
    ...recordingOptions
  },
  ({ dropWebhook, ...recording }) => runPolling({ dropWebhook }, recordingFrom(recording))
).pipe(Command.withDescription("Run the bot with long polling (getUpdates). Needs TELEGRAM_BOT_TOKEN."))
