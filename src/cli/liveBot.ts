/**
 * The bot against the real Bot API: the HTTP Telegram layer with the model, stores and profile
 * the configuration selects. The intake is long polling or the webhook server; both stop
 * taking updates first when the process is asked to stop, then the dialogs in flight drain
 * until `SHUTDOWN_DEADLINE`.
 */
import { Options } from "@effect/cli"
import { type ConfigError, Console, Duration, Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import { asPortInUse, type ConfigurationError, type StoreError } from "../domain/errors.ts"
import { metricsRoute, MetricsServerConfig } from "../observability/MetricsServer.ts"
import { assembledBot } from "../runtime/BotDefinition.ts"
import { selectedModel, selectedStores } from "../runtime/Environment.ts"
import { type PollerOptions, runPoller } from "../telegram/Poller.ts"
import { TelegramApi, type TelegramError } from "../telegram/TelegramApi.ts"
import { PollConfig, WebhookConfig, type WebhookConfigShape } from "../telegram/TelegramConfig.ts"
import { TelegramApiLive } from "../telegram/TelegramHttp.ts"
import { Intake } from "../telegram/Intake.ts"
import { drainOnClose, WebhookSecretMissing, WebhookServerLive } from "../telegram/WebhookServer.ts"
import { withUpdateRecording } from "../replay/RecordingIntake.ts"
import type { UpdateRecorderOptions } from "../replay/UpdateRecorder.ts"
import { liveModelRequested } from "../llm/LlmConfig.ts"
import { announceModel } from "./offlineBot.ts"
import type { Sharding } from "@effect/cluster/Sharding"
import type { SqlClient } from "@effect/sql"
import { ChatQueueClusterLive, ClusterRunnerLive, pollerSingleton, runOnce } from "../cluster/ClusterBot.ts"
import { SingleInstanceConfig } from "../store/StoreConfig.ts"

const liveParts = { telegram: TelegramApiLive, model: selectedModel, stores: selectedStores }

/**
 * The whole bot on the real Bot API: one process, or with `CLUSTER=true` one replica of a
 * cluster (the chats' queues on `@effect/cluster`, this process one of its runners).
 */
export const liveBot = Layer.unwrapEffect(Effect.map(SingleInstanceConfig, ({ cluster }) =>
  cluster
    ? assembledBot<ConfigError.ConfigError | StoreError, Sharding | SqlClient.SqlClient>({
      ...liveParts,
      queue: ChatQueueClusterLive
    }).pipe(Layer.provideMerge(ClusterRunnerLive))
    : assembledBot(liveParts)))

/** Options of `--record FILE [--redact]`: every incoming update appended to a JSONL file `replay` reads. */
export type Recording = Option.Option<UpdateRecorderOptions>

/** The live bot, recording its incoming updates when asked to. */
export const liveBotWith = (recording: Recording) =>
  Option.match(recording, {
    onNone: () => liveBot,
    onSome: (options) => withUpdateRecording(options)(liveBot)
  })

/** The `--record FILE` and `--redact` options of `serve` and `poll`. */
export const recordingOptions = {
  record: Options.file("record").pipe(
    Options.withDescription("append every incoming update to FILE, one JSON per line (the format replay reads)"),
    Options.optional
  ),
  redact: Options.boolean("redact").pipe(
    Options.withDescription("with --record: replace names, usernames, phone numbers and text outside the messages by placeholders")
  )
}

export const recordingFrom = (options: { readonly record: Option.Option<string>; readonly redact: boolean }): Recording =>
  Option.map(options.record, (file) => ({ file, redact: options.redact }))

/** The Bot API refused the token. */
export class TokenRefused extends Schema.TaggedError<TokenRefused>()("TokenRefused", { description: Schema.String }) {
  override get message(): string {
    return `Telegram refuses TELEGRAM_BOT_TOKEN (${this.description}): check the token from @BotFather.`
  }
}

/** The command needs `WEBHOOK_URL`. */
export class WebhookUrlMissing extends Schema.TaggedError<WebhookUrlMissing>()("WebhookUrlMissing", {}) {
  override get message(): string {
    return "WEBHOOK_URL is not set: the public https URL Telegram should post updates to (ending in WEBHOOK_PATH)."
  }
}

/** Telegram did not answer: no connection, a timeout, a 5xx or a 429 — worth asking again. */
const telegramAway = (e: TelegramError | TokenRefused | WebhookUrlMissing): boolean =>
  e._tag === "TelegramTransportError" ||
  (e._tag === "TelegramApiError" && (e.errorCode >= 500 || e.errorCode === 429))

/**
 * Until Telegram answers: `effect` again after 1 s, doubling up to 30 s, each failure logged
 * with its cause. A refusal (a token Telegram does not know) is not retried.
 */
const untilTelegramAnswers = <A, R>(what: string, effect: Effect.Effect<A, TelegramError | TokenRefused | WebhookUrlMissing, R>) =>
  effect.pipe(
    Effect.tapError((e) =>
      telegramAway(e) ? Console.error(`Telegram does not answer (${what}): ${e.message}; trying again`) : Effect.void
    ),
    Effect.retry({
      schedule: Schedule.exponential("1 second", 2).pipe(Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(30)))),
      while: telegramAway
    })
  )

/** Checks the token with getMe and says which bot runs; waits for Telegram when it does not answer. */
export const announceBot = untilTelegramAnswers(
  "getMe",
  Effect.gen(function*() {
    const me = yield* (yield* TelegramApi).getMe.pipe(
      Effect.catchIf(
        (e) => e._tag === "TelegramApiError" && (e.errorCode === 401 || e.errorCode === 404),
        (e) => Effect.fail(new TokenRefused({ description: e.message }))
      )
    )
    yield* Console.error(`bot: @${me.username ?? me.first_name ?? "?"} (id ${me.id})`)
  })
)

/** Registers `WEBHOOK_URL` with Telegram, with the secret, allowed updates and limits from the configuration. */
export const registerWebhook = (config: WebhookConfigShape) =>
  Effect.gen(function*() {
    const url = yield* Option.match(config.url, {
      onNone: () => Effect.fail(new WebhookUrlMissing()),
      onSome: Effect.succeed
    })
    if (Option.isNone(config.secret)) {
      yield* Effect.logWarning("registering the webhook without WEBHOOK_SECRET: anyone who finds the URL could post updates")
    }
    yield* (yield* TelegramApi).setWebhook({
      url,
      secretToken: Option.getOrUndefined(Option.map(config.secret, Redacted.value)),
      allowedUpdates: Option.getOrUndefined(config.allowedUpdates),
      maxConnections: config.maxConnections,
      dropPendingUpdates: config.dropPendingUpdates
    })
    return url
  })

const updates = (n: number) => `${n} update${n === 1 ? "" : "s"}`

/**
 * Says at shutdown what the drain did: `stopped: 3 updates drained, 0 left pending`. Call it
 * before the intake's `drainOnClose`: it notes what is outstanding when the scope starts
 * closing (a finalizer added last runs first) and prints once the drain is over.
 */
export const reportStop = <A, E, R>(intake: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const { outstanding } = yield* Intake
    let atStop = 0
    yield* Effect.addFinalizer(() =>
      Effect.flatMap(outstanding, (left) =>
        Console.error(`stopped: ${updates(Math.max(0, atStop - left))} drained, ${left} left pending`))
    )
    const result = yield* intake
    yield* Effect.addFinalizer(() => Effect.map(outstanding, (n) => (atStop = n)))
    return result
  })

/** The model, and a warning when real users are about to get the offline model's rule-based answers. */
const announceLiveModel = Effect.gen(function*() {
  yield* announceModel
  if (!(yield* liveModelRequested)) {
    yield* Console.error(
      "warning: no language model is configured (OPENAI_API_KEY or OPENAI_BASE_URL): users get the built-in offline model's rule-based answers"
    )
  }
})

/** Long polling until interrupted: `poll`, and `npm start` without `WEBHOOK_URL`. */
export const runPolling = (options: PollerOptions, recording: Recording = Option.none()) =>
  Effect.gen(function*() {
    yield* announceLiveModel
    yield* announceBot
    yield* reportStop(drainOnClose)
    yield* Console.error("polling for updates; Ctrl-C stops intake, lets the dialogs in flight finish, and exits")
    // With CLUSTER=true one replica polls at a time; another takes over when it stops or dies.
    yield* runOnce(pollerSingleton, runPoller(options))
  }).pipe(Effect.scoped, Effect.provide(Layer.merge(liveBotWith(recording), PollConfig.fromEnv)))

/**
 * The settings `serve` needs, checked before any network call or banner: the webhook
 * settings, a secret (or `WEBHOOK_ALLOW_NO_SECRET=true`), and where `/metrics` is served.
 */
export const checkServeSettings = Effect.gen(function*() {
  const config = yield* WebhookConfig
  if (Option.isNone(config.secret) && !config.allowNoSecret) return yield* Effect.fail(new WebhookSecretMissing())
  const metrics = yield* MetricsServerConfig
  return { config, metricsPort: metrics.port }
})

/**
 * The webhook server until interrupted: `serve`, and `npm start` with `WEBHOOK_URL`. When
 * `WEBHOOK_URL` is set and Telegram has another URL registered, it is registered first.
 * `/metrics` is served next to the webhook unless `METRICS_PORT` gives it a server of its own.
 */
export const runWebhookServer = (recording: Recording = Option.none()) =>
  Effect.gen(function*() {
    const { config, metricsPort } = yield* checkServeSettings
    yield* announceLiveModel
    // Listening comes first: updates are accepted and recorded while Telegram does not answer
    // (their replies go out with the sends' own retries once it does).
    const server = WebhookServerLive(Option.isSome(metricsPort) ? {} : { routes: metricsRoute }).pipe(
      Layer.mapError(asPortInUse("PORT", config.port))
    )
    yield* reportStop(Layer.build(server))
    yield* Console.error(`webhook server on ${config.host}:${config.port}${config.path}; Ctrl-C stops intake, lets the dialogs in flight finish, and exits`)
    yield* announceBot
    if (Option.isSome(config.url)) {
      const url = config.url.value
      yield* untilTelegramAnswers(
        "setWebhook",
        Effect.gen(function*() {
          const info = yield* (yield* TelegramApi).getWebhookInfo
          if (info.url !== url) {
            yield* registerWebhook(config)
            yield* Console.error(`webhook registered: ${url}`)
          }
        })
      )
    } else {
      yield* Console.error("WEBHOOK_URL is not set: Telegram must be told the URL (`dialog-bot webhook set`) before updates arrive")
    }
    return yield* Effect.never
  }).pipe(Effect.scoped, Effect.provide(Layer.merge(liveBotWith(recording), WebhookConfig.fromEnv)))
