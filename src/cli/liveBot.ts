/**
 * What `poll` and `serve` share: the bot against the real Bot API (the HTTP Telegram layer
 * with the model, stores and profile the configuration selects, one process or one replica of
 * a cluster), the recording of `--record`, the banner, waiting for Telegram, and the report of
 * a stop. Each command owns its run loop (src/cli/poll.ts, src/cli/serve.ts; their options in
 * src/cli/liveCommand.ts); both stop taking updates first when the process is asked to stop,
 * then the dialogs in flight drain until `SHUTDOWN_DEADLINE`.
 */
import { sayToOperator } from "../runtime/Logging.ts"
import { type ConfigError, Duration, Effect, Layer, Option, Redacted, Schedule, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { assembledBot } from "../runtime/BotDefinition.ts"
import { selectedModel, selectedStores } from "../runtime/Environment.ts"
import { TelegramApi, type TelegramError } from "../telegram/TelegramApi.ts"
import type { WebhookConfigShape } from "../telegram/TelegramConfig.ts"
import { TelegramApiLive } from "../telegram/TelegramHttp.ts"
import { Intake } from "../telegram/Intake.ts"
import { withUpdateRecording } from "../replay/RecordingIntake.ts"
import type { Recording } from "./liveCommand.ts"
import { liveModelRequested } from "../llm/LlmConfig.ts"
import { announceModel } from "./offlineBot.ts"
import type { Sharding } from "@effect/cluster/Sharding"
import type { SqlClient } from "@effect/sql"
import type { PgClient } from "@effect/sql-pg"
import { ClusterConfigSchema } from "../cluster/ClusterConfig.ts"
import { lazyLayer } from "../effect/lazyLayer.ts"
import { SharedStore } from "../store/StoreConfig.ts"
import { updateCommandMenu } from "../dialog/CommandMenu.ts"
import { registerReadiness } from "../telegram/Health.ts"

/**
 * The stores `STORE` names; with `CLUSTER=true` the replicas share them, so none takes the
 * single-instance lease.
 */
export const liveStores = Layer.unwrapEffect(Effect.map(ClusterConfigSchema, ({ enabled }) =>
  enabled ? selectedStores.pipe(Layer.provide(Layer.succeed(SharedStore, true))) : selectedStores))

const liveParts = { telegram: TelegramApiLive, model: selectedModel, stores: liveStores }

/** The cluster's part of the bot (`@effect/cluster`, rpc, workflow), imported only with `CLUSTER=true`. */
const clusterBot = () => import("../cluster/ClusterBot.ts")

/**
 * The whole bot on the real Bot API: one process, or with `CLUSTER=true` one replica of a
 * cluster (the chats' queues on `@effect/cluster`, this process one of its runners).
 */
export const liveBot = Layer.unwrapEffect(Effect.map(ClusterConfigSchema, ({ enabled }) =>
  enabled
    ? lazyLayer(() =>
      clusterBot().then(({ ChatQueueClusterLive, ClusterRunnerLive }) =>
        assembledBot<ConfigError.ConfigError | StoreError, Sharding | SqlClient.SqlClient | PgClient.PgClient>({
          ...liveParts,
          queue: ChatQueueClusterLive
        }).pipe(Layer.provideMerge(ClusterRunnerLive))
      )
    )
    : assembledBot(liveParts)))

/**
 * Runs `loop` once across the cluster with `CLUSTER=true` (a cluster singleton: on one replica
 * at a time, moved when that one stops or dies); without a cluster, simply here.
 */
export const runOnce = <E, R>(name: string, loop: Effect.Effect<void, E, R>) =>
  Effect.flatMap(ClusterConfigSchema, ({ enabled }) =>
    enabled ? Effect.flatMap(Effect.promise(clusterBot), (cluster) => cluster.runOnce(name, loop)) : loop)

/** The live bot, recording its incoming updates when asked to. */
export const liveBotWith = (recording: Recording) =>
  Option.match(recording, {
    onNone: () => liveBot,
    onSome: (options) => withUpdateRecording(options)(liveBot)
  })

/**
 * A run loop of the live bot, in one scope with the bot (recording its updates when asked to)
 * and the loop's own settings. The bot's readiness probe is registered first for the metrics
 * port's `/readyz`, so it is given up only after the drain.
 */
export const runLive = <ROut, E2, A, E, R>(settings: Layer.Layer<ROut, E2>, recording: Recording, loop: Effect.Effect<A, E, R>) =>
  Effect.zipRight(registerReadiness, loop).pipe(Effect.scoped, Effect.provide(Layer.merge(liveBotWith(recording), settings)))

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
export const untilTelegramAnswers = <A, R>(what: string, effect: Effect.Effect<A, TelegramError | TokenRefused | WebhookUrlMissing, R>) =>
  effect.pipe(
    Effect.tapError((e) =>
      telegramAway(e) ? sayToOperator(`Telegram does not answer (${what}): ${e.message}; trying again`, "WARN") : Effect.void
    ),
    Effect.retry({
      schedule: Schedule.exponential("1 second", 2).pipe(Schedule.modifyDelay((d) => Duration.min(d, Duration.seconds(30)))),
      while: telegramAway
    })
  )

/**
 * Checks the token with getMe and says which bot runs; waits for Telegram when it does not
 * answer. Then sets the command menu when it changed (never failing the start).
 */
export const announceBot = Effect.zipLeft(untilTelegramAnswers(
  "getMe",
  Effect.gen(function*() {
    const me = yield* (yield* TelegramApi).getMe.pipe(
      Effect.catchIf(
        (e) => e._tag === "TelegramApiError" && (e.errorCode === 401 || e.errorCode === 404),
        (e) => Effect.fail(new TokenRefused({ description: e.message }))
      )
    )
    yield* sayToOperator(`bot: @${me.username ?? me.first_name ?? "?"} (id ${me.id})`)
  })
), updateCommandMenu)

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
 * closing (a finalizer added last runs first) and prints once the drain is over. Drained are
 * the updates that ran here and finished during the drain; left pending is what the inbox
 * holds pending (the queue's `leftPending`: in the cluster, the shared inbox's pending entries).
 */
export const reportStop = <A, E, R>(intake: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const { leftPending, outstanding } = yield* Intake
    let atStop = 0
    yield* Effect.addFinalizer(() =>
      Effect.gen(function*() {
        const notFinished = yield* outstanding
        const left = leftPending === undefined ? notFinished : yield* leftPending
        yield* sayToOperator(`stopped: ${updates(Math.max(0, atStop - notFinished))} drained, ${left} left pending`)
      })
    )
    const result = yield* intake
    yield* Effect.addFinalizer(() => Effect.map(outstanding, (n) => (atStop = n)))
    return result
  })

/** The model, and a warning when real users are about to get the offline model's rule-based answers. */
export const announceLiveModel = Effect.gen(function*() {
  yield* announceModel
  if (!(yield* liveModelRequested)) {
    yield* sayToOperator(
      "warning: no language model is configured (OPENAI_API_KEY or OPENAI_BASE_URL): users get the built-in offline model's rule-based answers",
      "WARN"
    )
  }
})

