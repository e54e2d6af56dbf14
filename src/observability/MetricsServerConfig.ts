/**
 * Where the metrics server listens (`METRICS_PORT`, `METRICS_HOST`) and which paths are never
 * traced: what the observability layer and the tracer read before the bot starts, without the
 * HTTP server of `MetricsServer.ts` (imported only when `METRICS_PORT` is set).
 */
import { Config } from "effect"
import { Settings } from "../config.ts"

/** Paths whose requests get no span. */
export const untracedPaths: ReadonlyArray<string> = ["/metrics", "/healthz", "/readyz"]

export const MetricsServerConfigSchema = Config.all({
  port: Config.option(Config.port("METRICS_PORT")),
  host: Config.string("METRICS_HOST").pipe(Config.withDefault("0.0.0.0"))
})

/** Where the metrics server listens, if anywhere; read when the server is built and by `serve`. */
export class MetricsServerConfig extends Settings<MetricsServerConfig>()(
  "dialog-bot/MetricsServerConfig",
  MetricsServerConfigSchema
) {}
