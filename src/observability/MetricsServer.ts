/**
 * The metrics endpoint. `GET /metrics` answers every metric of the process in the Prometheus
 * text format; `GET /healthz` answers `ok` while the process serves requests; `GET /readyz`
 * answers what the webhook port answers there (`Readiness.ts`): 200 while the bot can take
 * updates, 503 otherwise.
 *
 * Without `METRICS_PORT` the webhook server serves {@link metricsRoute} on its own port. With
 * `METRICS_PORT` set (polling mode, or to keep metrics off the public port) a separate small
 * server has the same routes on `METRICS_HOST` (default `0.0.0.0`), and the webhook port no
 * longer answers `/metrics`. Scrapes are not traced (a scrape every few seconds would bury
 * the update traces).
 */
import { HttpMiddleware, HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Effect, Layer, Option } from "effect"
import { createServer } from "node:http"
import { asPortInUse } from "../domain/errors.ts"
import { MetricsServerConfigSchema, untracedPaths } from "./MetricsServerConfig.ts"
import { prometheusContentType, prometheusText } from "./Prometheus.ts"
import { ReadinessProbes, ReadinessProbesLive, readinessResponse } from "./Readiness.ts"

export { MetricsServerConfig, MetricsServerConfigSchema, untracedPaths } from "./MetricsServerConfig.ts"

/** `GET /metrics`: the Prometheus exposition of every metric. */
export const metricsHandler = Effect.map(
  prometheusText,
  (text) => HttpServerResponse.text(text, { contentType: prometheusContentType })
)

/** `GET /healthz`: the process is up and serving. */
export const healthHandler = Effect.succeed(HttpServerResponse.text("ok\n"))

/** `GET /metrics` alone: the webhook server serves it next to its own routes (it has a `/healthz`). */
export const metricsRoute = HttpRouter.empty.pipe(HttpRouter.get("/metrics", metricsHandler))

/** `GET /readyz` on the metrics port: the probe the running bot registered. */
export const readinessHandler = Effect.flatMap(ReadinessProbes, (probes) => Effect.map(probes.current, readinessResponse))

/** The routes of the standalone metrics server: `/metrics`, `/healthz` and `/readyz`. */
export const metricsRoutes = metricsRoute.pipe(
  HttpRouter.get("/healthz", healthHandler),
  HttpRouter.get("/readyz", readinessHandler)
)

export interface MetricsServerOptions {
  readonly port: number
  readonly host: string
}

/** The metrics server on a port (0 picks a free one); provides its `HttpServer` (to read the address). */
export const metricsServerOn = (options: MetricsServerOptions) =>
  HttpServer.serve(metricsRoutes).pipe(
    HttpServer.withLogAddress,
    HttpMiddleware.withTracerDisabledForUrls(untracedPaths),
    Layer.provideMerge(NodeHttpServer.layer(() => createServer(), { port: options.port, host: options.host }))
  )

/**
 * The metrics server when `METRICS_PORT` is set; nothing otherwise. Provides the process's
 * `ReadinessProbes` either way: the bot registers its probe there.
 */
export const MetricsServerLive = Layer.unwrapEffect(
  Effect.map(MetricsServerConfigSchema, ({ host, port }) =>
    Option.match(port, {
      onNone: () => Layer.empty,
      onSome: (port) => Layer.discard(metricsServerOn({ port, host })).pipe(Layer.mapError(asPortInUse("METRICS_PORT", port)))
    }))
).pipe(Layer.provideMerge(ReadinessProbesLive))
