/**
 * The webhook's port, taken before the bot is built: `serve` listens on `HOST`:`PORT` as soon as
 * its settings are read, and the webhook server (`WebhookServer.ts`) takes the listening
 * socket over once the bot's layers are up. Building the bot loads some 1 400 modules (about
 * 2 s on two busy cores); a port that only opens after that reads as a dead process to a
 * load balancer or an orchestrator that waits for it, and a taken port is reported only then.
 *
 * Until the take-over an update is answered `503` with `Retry-After: 1` (Telegram delivers it
 * again later), `GET /readyz` 503 with the report the metrics port gives before the bot runs
 * (`"bot":"starting"`), `GET /healthz` 200 `{"status":"starting"}`: the process is alive, so a
 * liveness probe does not restart it mid-start. This module loads nothing of the bot
 * (node:http and the webhook's settings only).
 */
import { createServer, type Server } from "node:http"
import { Effect, Option, Schema } from "effect"
import { asPortInUse, PortInUse } from "../domain/errors.ts"
import { WebhookConfig } from "./TelegramConfig.ts"

/** The server was asked to start without a secret: anyone could post updates. */
export class WebhookSecretMissing extends Schema.TaggedError<WebhookSecretMissing>()("WebhookSecretMissing", {}) {
  override get message(): string {
    return "WEBHOOK_SECRET is not set: anyone who finds the URL could post updates. Set WEBHOOK_SECRET " +
      "(1-256 characters A-Z a-z 0-9 _ -; `webhook set` registers it with Telegram), or WEBHOOK_ALLOW_NO_SECRET=true for local testing only."
  }
}

/** The listen failed on something else than a taken port. */
export class WebhookPortFailed extends Schema.TaggedError<WebhookPortFailed>()("WebhookPortFailed", { message: Schema.String }) {}

/** What the port answers before the webhook server takes it over: a status and a JSON body. */
export const answerWhileStarting = (method: string | undefined, url: string | undefined): readonly [number, unknown] => {
  const path = (url ?? "").split("?")[0]
  if (method === "GET" && path === "/healthz") return [200, { status: "starting" }]
  if (method === "GET" && path === "/readyz") return [503, { status: "not_ready", store: "unknown", draining: false, bot: "starting" }]
  return [503, { ok: false, description: "starting" }]
}

/** The server of a webhook port taken early: `listening` already, answering 503 until taken over. */
export interface WebhookPort {
  readonly server: Server
}

/**
 * Listens on `HOST`:`PORT` (the webhook's settings; a missing `WEBHOOK_SECRET` is refused first)
 * and answers 503 to every request while the server has no other `request` listener. The
 * port is closed with the scope unless the webhook server took it over (it closes it then).
 */
export const takeWebhookPort = Effect.gen(function*() {
  const config = yield* WebhookConfig
  if (Option.isNone(config.secret) && !config.allowNoSecret) return yield* Effect.fail(new WebhookSecretMissing())
  const server = createServer({ keepAliveTimeout: 65_000 })
  server.on("request", (request, response) => {
    // The platform's server adds its own listener when it takes over: from then on it answers.
    if (server.listenerCount("request") > 1) return
    const [status, body] = answerWhileStarting(request.method, request.url)
    response.writeHead(status, { "retry-after": "1", "content-type": "application/json" }).end(JSON.stringify(body))
  })
  yield* Effect.acquireRelease(
    Effect.async<void, PortInUse | WebhookPortFailed>((resume) => {
      const onError = (error: Error) => {
        const taken = asPortInUse("PORT", config.port)(error)
        resume(Effect.fail(taken instanceof PortInUse ? taken : new WebhookPortFailed({ message: error.message })))
      }
      server.once("error", onError)
      server.listen({ host: config.host, port: config.port }, () => {
        server.off("error", onError)
        resume(Effect.void)
      })
    }),
    () =>
      Effect.async<void>((resume) => {
        if (server.listening) server.close(() => resume(Effect.void))
        else resume(Effect.void)
      })
  )
  return { server } satisfies WebhookPort
})

/**
 * The listening server of `port` for the platform's `NodeHttpServer`, which calls `listen`
 * itself: that call finds the socket open and goes on at once.
 */
export const adoptWebhookPort = (port: WebhookPort): Server => {
  const server = port.server
  server.listen = ((...args: Array<unknown>) => {
    const done = args.find((arg): arg is () => void => typeof arg === "function")
    if (done !== undefined) process.nextTick(done)
    return server
  }) as Server["listen"]
  return server
}
