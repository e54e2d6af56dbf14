/**
 * What `webhook set|delete|info` run (src/cli/webhookCommand.ts), imported when they run: the
 * Bot API calls about the webhook registered with Telegram.
 */
import { Console, Effect, Layer } from "effect"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { WebhookConfig } from "../telegram/TelegramConfig.ts"
import { TelegramApiLive } from "../telegram/TelegramHttp.ts"
import { registerWebhook } from "./liveBot.ts"

const withTelegram = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.provide(effect, Layer.merge(TelegramApiLive, WebhookConfig.fromEnv))

/** `webhook set`: registers `WEBHOOK_URL`. */
export const setWebhook = withTelegram(
  Effect.gen(function*() {
    const url = yield* registerWebhook(yield* WebhookConfig)
    yield* Console.log(`webhook set: ${url}`)
  })
)

/** `webhook delete [--drop-pending]`. */
export const deleteWebhook = (dropPending: boolean) =>
  withTelegram(
    Effect.gen(function*() {
      yield* (yield* TelegramApi).deleteWebhook(dropPending)
      yield* Console.log(`webhook deleted${dropPending ? "; pending updates dropped" : ""}`)
    })
  )

/** `webhook info`: what Telegram knows about the webhook, as JSON. */
export const webhookInfo = withTelegram(
  Effect.gen(function*() {
    const info = yield* (yield* TelegramApi).getWebhookInfo
    yield* Console.log(JSON.stringify(info, null, 2))
  })
)
