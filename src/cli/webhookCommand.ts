/**
 * `webhook set|delete|info`: the webhook registered with Telegram (src/cli/webhook.ts, imported
 * when a subcommand runs).
 */
import { Command, Options } from "@effect/cli"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"

/** The Bot API calls of the subcommands, imported when one runs. */
const webhook = () => import("./webhook.ts")

/** What `webhook` and `webhook set` read; `delete` and `info` need only the Bot API's. */
const botApiVariables: ReadonlyArray<string> = ["TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL"]
const registrationVariables: ReadonlyArray<string> = [
  ...botApiVariables, "WEBHOOK_URL", "WEBHOOK_SECRET", "TELEGRAM_ALLOWED_UPDATES", "WEBHOOK_MAX_CONNECTIONS", "WEBHOOK_DROP_PENDING_UPDATES"
]

const setCommand = Command.make("set", {}, () => withModule(webhook, (calls) => calls.setWebhook)).pipe(
  Command.withDescription(
    describeCommand(
      "Register WEBHOOK_URL with Telegram, with WEBHOOK_SECRET, TELEGRAM_ALLOWED_UPDATES, WEBHOOK_MAX_CONNECTIONS and WEBHOOK_DROP_PENDING_UPDATES.",
      registrationVariables
    )
  )
)

const deleteCommand = Command.make(
  "delete",
  {
    dropPending: Options.boolean("drop-pending").pipe(Options.withDescription("also drop the updates waiting at Telegram"))
  },
  ({ dropPending }) => withModule(webhook, (calls) => calls.deleteWebhook(dropPending))
).pipe(Command.withDescription(describeCommand("Remove the webhook (needed before long polling).", botApiVariables)))

const infoCommand = Command.make("info", {}, () => withModule(webhook, (calls) => calls.webhookInfo)).pipe(
  Command.withDescription(describeCommand("Print what Telegram knows about the webhook (URL, pending updates, last error).", botApiVariables))
)

export const webhookCommand = Command.make("webhook").pipe(
  Command.withDescription(describeCommand("Manage the webhook registered with Telegram.", registrationVariables)),
  Command.withSubcommands([setCommand, deleteCommand, infoCommand])
)
