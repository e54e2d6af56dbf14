/**
 * Readiness, as opposed to liveness. `GET /healthz` answers 200 while the process serves
 * requests (liveness: a restart would not help); `GET /readyz` answers 200 only while the bot
 * can take updates, and 503 while its store does not answer or the process is draining, so a
 * load balancer or an orchestrator sends it no new work. The body says why:
 *
 * ```json
 * {"status":"not_ready","store":"failing: connection refused","draining":false}
 * ```
 *
 * The webhook port and `METRICS_PORT` answer the same. The metrics server is built before the
 * bot and outlives it, so the bot registers its probe in {@link ReadinessProbes} while it
 * runs; before that (and after) the metrics port answers 503 `starting` (`stopped`).
 */
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Context, Effect, Layer, Option, type Scope } from "effect"

export interface ReadinessReport {
  readonly status: "ready" | "not_ready"
  /** `ok`, or `failing: <why>`; `unknown` while no bot runs. */
  readonly store: string
  /** The process has been asked to stop: intake is closed, the dialogs in flight finish. */
  readonly draining: boolean
  /** Set while no bot runs in the process: `starting` or `stopped`. */
  readonly bot?: "starting" | "stopped"
}

/** The report of a store state and a drain flag. */
export const readinessOf = (store: string, draining: boolean): ReadinessReport => ({
  status: store === "ok" && !draining ? "ready" : "not_ready",
  store,
  draining
})

/** `GET /readyz`: 200 when ready, 503 otherwise, the report as JSON either way. */
export const readinessResponse = (report: ReadinessReport) =>
  HttpServerResponse.unsafeJson(report, { status: report.status === "ready" ? 200 : 503 })

export interface ReadinessProbesService {
  /** The report of the probe registered now, or `not_ready` with why no bot answers. */
  readonly current: Effect.Effect<ReadinessReport>
  /** Registers the bot's probe for the life of the scope (the last registered wins). */
  readonly register: (probe: Effect.Effect<ReadinessReport>) => Effect.Effect<void, never, Scope.Scope>
}

/** Where the bot's readiness probe is found by a server that outlives the bot (the metrics server). */
export class ReadinessProbes extends Context.Tag("dialog-bot/ReadinessProbes")<ReadinessProbes, ReadinessProbesService>() {}

const noBot = (bot: "starting" | "stopped"): ReadinessReport => ({ status: "not_ready", store: "unknown", draining: false, bot })

/** The probes of one process. */
export const ReadinessProbesLive = Layer.sync(ReadinessProbes, () => {
  let probe: Option.Option<Effect.Effect<ReadinessReport>> = Option.none()
  let stopped = false
  return ReadinessProbes.of({
    current: Effect.suspend(() =>
      Option.getOrElse(probe, () => Effect.succeed(noBot(stopped ? "stopped" : "starting")))
    ),
    register: (next) =>
      Effect.acquireRelease(
        Effect.sync(() => {
          probe = Option.some(next)
        }),
        () =>
          Effect.sync(() => {
            probe = Option.none()
            stopped = true
          })
      )
  })
})
