/**
 * What `GET /healthz` tells an operator or a load balancer: whether the store and the Bot API
 * answer, and how many updates are queued or running. It always answers 200 while the process
 * serves requests (a restart does not bring Telegram back); `status` is `degraded` and the
 * failing part says why when something does not answer. Optional parts (the MCP servers) add
 * their states under their own key without changing `status`: the bot answers without them.
 */
import { Context, Duration, Effect, Option } from "effect"
import { ReadinessProbes, readinessOf } from "../observability/Readiness.ts"
import { Inbox } from "../store/Inbox.ts"
import { Intake } from "./Intake.ts"
import { TelegramApi } from "./TelegramApi.ts"

/** How long one check may take. */
const checkTimeout = Duration.seconds(2)
/** Telegram is asked at most this often: health probes must not become Bot API traffic. */
const telegramCheckEvery = Duration.seconds(30)
/**
 * The store is asked at most this often by the readiness probe: an orchestrator probing every
 * second from several places costs the database one cheap query a second at most.
 */
const storeCheckEvery = Duration.seconds(1)

export interface Health {
  readonly status: "ok" | "degraded"
  /** Updates queued or running. */
  readonly outstanding: number
  /** `ok`, or `failing: <why>`. */
  readonly store: string
  readonly telegram: string
  /** Optional parts, e.g. `mcp`: each server's state. */
  readonly [part: string]: unknown
}

/** Parts the health check lists besides the store and Telegram: key → its state now (JSON). */
export class HealthReports extends Context.Reference<HealthReports>()("dialog-bot/HealthReports", {
  defaultValue: (): { readonly parts: Readonly<Record<string, Effect.Effect<unknown>>> } => ({ parts: {} })
}) {}

const check = <A, E extends { readonly message: string }>(effect: Effect.Effect<A, E>): Effect.Effect<string> =>
  effect.pipe(
    Effect.timeoutFail({ duration: checkTimeout, onTimeout: () => ({ message: `no answer within ${Duration.format(checkTimeout)}` }) }),
    Effect.as("ok"),
    Effect.catchAll((e) => Effect.succeed(`failing: ${e.message}`))
  )

/** The health check: reads the inbox's last update id and asks the Bot API `getMe` (cached). */
export const makeHealth = Effect.gen(function*() {
  const inbox = yield* Inbox
  const api = yield* TelegramApi
  const intake = yield* Intake
  const telegram = yield* Effect.cachedWithTTL(check(api.getMe), telegramCheckEvery)
  const { parts } = yield* HealthReports
  return Effect.map(
    Effect.all([check(inbox.lastUpdateId), telegram, intake.outstanding, Effect.all(parts)], { concurrency: "unbounded" }),
    ([store, telegramState, outstanding, more]): Health => ({
      ...more,
      status: store === "ok" && telegramState === "ok" ? "ok" : "degraded",
      outstanding,
      store,
      telegram: telegramState
    })
  )
})

/**
 * The readiness probe (`GET /readyz`, `Readiness.ts`): the store answers a cheap query (the
 * inbox's last update id, its answer kept for a second) and the intake is not draining.
 */
export const makeReadiness = Effect.gen(function*() {
  const inbox = yield* Inbox
  const intake = yield* Intake
  const store = yield* Effect.cachedWithTTL(check(inbox.lastUpdateId), storeCheckEvery)
  return Effect.zipWith(store, intake.draining, readinessOf)
})

/**
 * The readiness probe where a server that outlives the bot finds it (the metrics server's
 * `/readyz`), until the scope closes; nothing without `ReadinessProbes`.
 */
export const registerReadiness = Effect.gen(function*() {
  const probes = yield* Effect.serviceOption(ReadinessProbes)
  if (Option.isSome(probes)) yield* probes.value.register(yield* makeReadiness)
})
