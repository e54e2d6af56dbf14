/**
 * What `serve` runs (src/cli/serveCommand.ts), imported when it runs: the webhook server until
 * interrupted; also what `npm start` runs with a token and `WEBHOOK_URL`.
 */
import { sayToOperator } from "../runtime/Logging.ts"
import * as Net from "node:net"
import { Console, Effect, Layer, Option } from "effect"
import { asPortInUse, PortInUse } from "../domain/errors.ts"
import { metricsRoute, MetricsServerConfigSchema } from "../observability/MetricsServer.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { WebhookConfig } from "../telegram/TelegramConfig.ts"
import { WebhookSecretMissing, WebhookServerLive } from "../telegram/WebhookServer.ts"
import { announceBot, announceLiveModel, registerWebhook, reportStop, runLive, untilTelegramAnswers } from "./liveBot.ts"
import type { Recording } from "./liveCommand.ts"

/**
 * Whether `PORT` is free, tried by listening on it and closing at once: a taken port is then
 * reported before any banner (the server's own listen still reports a port taken in between).
 */
const portFree = (host: string, port: number) =>
  Effect.async<boolean>((resume) => {
    const probe = Net.createServer()
    probe.once("error", (error: NodeJS.ErrnoException) => resume(Effect.succeed(error.code !== "EADDRINUSE")))
    probe.listen(port, host, () => probe.close(() => resume(Effect.succeed(true))))
  })

/**
 * The settings `serve` needs, checked before any network call or banner: the webhook
 * settings, a secret (or `WEBHOOK_ALLOW_NO_SECRET=true`), where `/metrics` is served, and
 * that `PORT` is free.
 */
export const checkServeSettings = Effect.gen(function*() {
  const config = yield* WebhookConfig
  if (Option.isNone(config.secret) && !config.allowNoSecret) return yield* Effect.fail(new WebhookSecretMissing())
  const metrics = yield* MetricsServerConfigSchema
  if (config.port !== 0 && !(yield* portFree(config.host, config.port))) {
    return yield* Effect.fail(new PortInUse({ setting: "PORT", port: config.port }))
  }
  return { config, metricsPort: metrics.port }
})

/**
 * The webhook server until interrupted: `serve`, and `npm start` with `WEBHOOK_URL`. When
 * `WEBHOOK_URL` is set and Telegram has another URL registered, it is registered first.
 * `/metrics` is served next to the webhook unless `METRICS_PORT` gives it a server of its own.
 */
export const runWebhookServer = (recording: Recording = Option.none()) =>
  runLive(WebhookConfig.fromEnv, recording, Effect.gen(function*() {
    const { config, metricsPort } = yield* checkServeSettings
    yield* announceLiveModel
    // Listening comes first: updates are accepted and recorded while Telegram does not answer
    // (their replies go out with the sends' own retries once it does).
    const server = WebhookServerLive(Option.isSome(metricsPort) ? {} : { routes: metricsRoute }).pipe(
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
