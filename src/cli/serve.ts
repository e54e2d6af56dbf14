/**
 * What `serve` runs (src/cli/serveCommand.ts), imported when it runs: the webhook server until
 * interrupted; also what `npm start` runs with a token and `WEBHOOK_URL`.
 */
import { sayToOperator } from "../runtime/Logging.ts"
import { Console, Effect, Layer, Option } from "effect"
import { asPortInUse } from "../domain/errors.ts"
import { metricsRoute, MetricsServerConfigSchema } from "../observability/MetricsServer.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { WebhookConfig } from "../telegram/TelegramConfig.ts"
import type { WebhookPort } from "../telegram/WebhookPort.ts"
import { WebhookServerLive } from "../telegram/WebhookServer.ts"
import { announceBot, announceLiveModel, registerWebhook, reportStop, runLive, untilTelegramAnswers } from "./liveBot.ts"
import type { Recording } from "./liveCommand.ts"

/**
 * The settings `serve` needs besides the webhook's (its port was taken, with the secret
 * checked, before the bot was built): where `/metrics` is served.
 */
export const checkServeSettings = Effect.gen(function*() {
  const config = yield* WebhookConfig
  const metrics = yield* MetricsServerConfigSchema
  return { config, metricsPort: metrics.port }
})

/**
 * The webhook server until interrupted: `serve`, and `npm start` with `WEBHOOK_URL`. When
 * `WEBHOOK_URL` is set and Telegram has another URL registered, it is registered first.
 * `/metrics` is served next to the webhook unless `METRICS_PORT` gives it a server of its own.
 * The server takes over `port`, taken before the bot was built (src/cli/serveCommand.ts).
 */
export const runWebhookServer = (port: WebhookPort, recording: Recording = Option.none()) =>
  runLive(WebhookConfig.fromEnv, recording, Effect.gen(function*() {
    const { config, metricsPort } = yield* checkServeSettings
    yield* announceLiveModel
    // Listening comes first: updates are accepted and recorded while Telegram does not answer
    // (their replies go out with the sends' own retries once it does).
    const server = WebhookServerLive(Option.isSome(metricsPort) ? { port } : { port, routes: metricsRoute }).pipe(
      Layer.mapError(asPortInUse("PORT", config.port))
    )
    yield* reportStop(Layer.build(server))
    yield* sayToOperator(`webhook server on ${config.host}:${config.port}${config.path}; Ctrl-C stops intake, lets the dialogs in flight finish, and exits`)
    yield* announceBot
    if (Option.isSome(config.url)) {
      const url = config.url.value
      yield* untilTelegramAnswers(
        "setWebhook",
        Effect.gen(function*() {
          const info = yield* (yield* TelegramApi).getWebhookInfo
          if (info.url !== url) {
            yield* registerWebhook(config)
            yield* sayToOperator(`webhook registered: ${url}`)
          }
        })
      )
    } else {
      yield* sayToOperator("WEBHOOK_URL is not set: Telegram must be told the URL (`dialog-bot webhook set`) before updates arrive")
    }
    return yield* Effect.never
  }))
