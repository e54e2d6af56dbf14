/** `webhook set|delete|info`: the webhook registered with Telegram. */
import { Command, Options } from "@effect/cli"
import { Console, Effect, Layer } from "effect"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { WebhookConfig } from "../telegram/TelegramConfig.ts"
import { TelegramApiLive } from "../telegram/TelegramHttp.ts"
import { registerWebhook } from "./liveBot.ts"
import { describeCommand } from "./help.ts"

/** What `webhook` and `webhook set` read; `delete` and `info` need only the Bot API's. */
const botApiVariables: ReadonlyArray<string> = ["TELEGRAM_BOT_TOKEN", "TELEGRAM_API_BASE_URL"]
const registrationVariables: ReadonlyArray<string> = [
  ...botApiVariables, "WEBHOOK_URL", "WEBHOOK_SECRET", "TELEGRAM_ALLOWED_UPDATES", "WEBHOOK_MAX_CONNECTIONS", "WEBHOOK_DROP_PENDING_UPDATES"
]

const withTelegram = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, Layer.merge(TelegramApiLive, WebhookConfig.fromEnv))

const setCommand = Command.make("set", {}, () =>
  withTelegram(
    Effect.gen(function*() {
      const url = yield* registerWebhook(yield* WebhookConfig)
      yield* Console.log(`webhook set: ${url}`)
    })
  )).pipe(
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
  ({ dropPending }) =>
    withTelegram(
      Effect.gen(function*() {
        yield* (yield* TelegramApi).deleteWebhook(dropPending)
        yield* Console.log(`webhook deleted${dropPending ? "; pending updates dropped" : ""}`)
      })
    )
).pipe(Command.withDescription(describeCommand("Remove the webhook (needed before long polling).", botApiVariables)))

const infoCommand = Command.make("info", {}, () =>
  withTelegram(
    Effect.gen(function*() {
      const info = yield* (yield* TelegramApi).getWebhookInfo
      yield* Console.log(JSON.stringify(info, null, 2))
    })
  )).pipe(Command.withDescription(
    describeCommand("Print what Telegram knows about the webhook (URL, pending updates, last error).", botApiVariables)
  ))

export const webhookCommand = Command.make("webhook").pipe(
  Command.withDescription(describeCommand("Manage the webhook registered with Telegram.", registrationVariables)),
  Command.withSubcommands([setCommand, deleteCommand, infoCommand])
)
