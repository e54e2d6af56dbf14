/**
 * The webhook server: Telegram POSTs each update to `WEBHOOK_PATH`, answered on node:http by
 * the webhook's route (`WebhookRoute.ts`, the checks and answers in `WebhookRequest.ts`);
 * `GET /healthz` says the process is up (liveness), `GET /readyz` whether it takes updates
 * (readiness: 503 while the store does not answer or the process drains).
 *
 * The server keeps listening while the dialogs in flight drain: updates are then answered 503
 * (Telegram delivers them again later, to this process or another) and `/readyz` says
 * `draining`, so a load balancer sees the process leave before its port closes.
 *
 * Other routes (e.g. `/metrics`) join the same server through `WebhookServerLive({ routes })`,
 * on the platform's router, next to `/healthz`.
 */
import { createServer } from "node:http"
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Context, Effect, Fiber, Layer, Option } from "effect"
import { readinessResponse } from "../observability/Readiness.ts"
import { makeHealth, makeReadiness } from "./Health.ts"
import { Intake } from "./Intake.ts"
import { WebhookConfig } from "./TelegramConfig.ts"
import { adoptWebhookPort, type WebhookPort, WebhookSecretMissing } from "./WebhookPort.ts"
import { makeWebhookRoute, withRoute } from "./WebhookRoute.ts"

export { secretHeader } from "./WebhookRequest.ts"
export { WebhookSecretMissing } from "./WebhookPort.ts"

/**
 * Drains the intake when the scope closes, before the dispatcher's own finalizer runs:
 * intake registered after this stops first. The shutdown runs on a fiber of its own in an
 * interruptible region, so that its deadline can cut the wait short (a finalizer runs
 * uninterruptibly, where a timeout would wait for the dialogs whatever the deadline).
 */
export const drainOnClose = Effect.flatMap(Intake, (intake) =>
  Effect.addFinalizer(() => Effect.flatMap(Effect.fork(Effect.interruptible(intake.shutdown)), Fiber.join)))

/** The routes of the platform's router: GET `/healthz` and `/readyz` (`Health.ts`). */
const healthRouter = Effect.map(Effect.all([makeHealth, makeReadiness]), ([health, readiness]) =>
  HttpRouter.empty.pipe(
    HttpRouter.get("/healthz", Effect.map(health, (state) => HttpServerResponse.unsafeJson(state))),
    HttpRouter.get("/readyz", Effect.map(readiness, readinessResponse))
  ))

export interface WebhookServerOptions<E, R> {
  /** More routes served next to the webhook (e.g. `/metrics`). */
  readonly routes?: HttpRouter.HttpRouter<E, R>
  /** The port taken before the bot was built (`WebhookPort.ts`): its server is taken over, not a new one. */
  readonly port?: WebhookPort
}

/**
 * The webhook server on `HOST`:`PORT` (or on the port `options.port` took). Refuses to start without `WEBHOOK_SECRET` unless
 * `WEBHOOK_ALLOW_NO_SECRET=true`. Provides the running `HttpServer` (its address).
 */
export const WebhookServerLive = <E = never, R = never>(options: WebhookServerOptions<E, R> = {}) =>
  Layer.unwrapScoped(
    Effect.gen(function*() {
      const config = yield* WebhookConfig
      if (Option.isNone(config.secret)) {
        if (!config.allowNoSecret) return yield* Effect.fail(new WebhookSecretMissing())
        yield* Effect.logWarning("webhook server without a secret: WEBHOOK_ALLOW_NO_SECRET=true (local testing only)")
      }
      // Made before the server, so its fibers are interrupted only after the drain.
      const route = yield* makeWebhookRoute(config)
      const health = yield* healthRouter
      const router = options.routes === undefined ? health : HttpRouter.concat(health, options.routes)
      // POST `WEBHOOK_PATH` is answered on node:http itself (`WebhookRoute.ts`), before the router.
      const server = NodeHttpServer.layer(
        () =>
          withRoute(
            options.port === undefined ? createServer({ keepAliveTimeout: 65_000 }) : adoptWebhookPort(options.port),
            route
          ),
        { host: config.host, port: config.port }
      )
      // The drain is registered after the server: it runs first when the scope closes, while
      // the server still answers (503 to updates, `draining` on /readyz).
      return Layer.scopedDiscard(drainOnClose).pipe(
        Layer.provideMerge(HttpServer.serve(router).pipe(Layer.provideMerge(server))),
        Layer.tap((context) =>
          Effect.logInfo(
            `webhook server listening on ${HttpServer.formatAddress(Context.get(context, HttpServer.HttpServer).address)}${config.path}`
          )
        )
      )
    })
  )
