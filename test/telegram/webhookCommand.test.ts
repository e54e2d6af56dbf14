import { describe, expect, it } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { registerWebhook } from "../../src/cli/liveBot.ts"
import { WebhookConfig } from "../../src/telegram/TelegramConfig.ts"
import { makeFakeBotApi, telegramApiFor } from "../support/FakeBotApi.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"

describe("webhook set", () => {
  it.scopedLive("registers WEBHOOK_URL with the secret, allowed updates, max connections and drop_pending_updates", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      const config = yield* Effect.provide(
        WebhookConfig,
        WebhookConfig.make({
          url: Option.some("https://bot.example.com/telegram/webhook"),
          secret: Option.some(Redacted.make("s3cret_token")),
          allowedUpdates: Option.some(["message", "callback_query"]),
          maxConnections: 20,
          dropPendingUpdates: true
        })
      )
      const url = yield* registerWebhook(config).pipe(Effect.provideService(TelegramApi, api))
      expect(url).toBe("https://bot.example.com/telegram/webhook")
      expect((yield* fake.calls("setWebhook")).map((c) => c.params)).toEqual([{
        url: "https://bot.example.com/telegram/webhook",
        secret_token: "s3cret_token",
        allowed_updates: ["message", "callback_query"],
        max_connections: 20,
        drop_pending_updates: true
      }])
      expect((yield* api.getWebhookInfo).url).toBe("https://bot.example.com/telegram/webhook")
    }))

  it.scopedLive("without WEBHOOK_URL it is a clear error and nothing is sent", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      const config = yield* Effect.provide(WebhookConfig, WebhookConfig.make())
      const error = yield* Effect.flip(registerWebhook(config).pipe(Effect.provideService(TelegramApi, api)))
      expect(error._tag).toBe("WebhookUrlMissing")
      expect(error.message).toContain("WEBHOOK_URL is not set")
      expect(yield* fake.calls()).toHaveLength(0)
    }))
})
