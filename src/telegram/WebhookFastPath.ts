/**
 * The webhook's own node:http path: POST `WEBHOOK_PATH` is answered straight from the node
 * server's request event, without the platform's request and response objects, router and
 * middleware; every other request (`/healthz`, `/metrics`, …) goes on to the platform's server
 * as before.
 *
 * The webhook is the hottest route of the bot: every update passes it. Through the platform's
 * server an accepted update cost about 1.2 ms of CPU against 0.11 ms for grammY's
 * `webhookCallback` (bench/README.md, issue 15). The checks and the answers are the same code
 * as on the platform's route (`makeAcceptUpdate` in `WebhookServer.ts`); each request runs on a
 * fiber of the server's `FiberSet` (interrupted when the layer closes), a client that goes away
 * interrupts its fiber, and a defect is answered 500 (the update was not acknowledged, so
 * Telegram delivers it again). With tracing on (a collector configured) the platform's server
 * answers the webhook too, so that each request has its `http.server` span.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { Effect, Exit, FiberId, FiberRef, FiberSet } from "effect"
import type { WebhookConfigShape } from "./TelegramConfig.ts"
import { makeAcceptUpdate, type WebhookAnswer } from "./WebhookServer.ts"

/** Handles a request and says so (`true`), or leaves it to the next handler (`false`). */
export type FastRoute = (request: IncomingMessage, response: ServerResponse) => boolean

const failed: WebhookAnswer = { status: 500, text: "internal error" }
const interrupted: WebhookAnswer = { status: 503, text: "shutting down" }

const send = (response: ServerResponse, answer: WebhookAnswer) => {
  if (response.writableEnded || response.destroyed) return
  response.writeHead(answer.status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(answer.text),
    ...(answer.close === true ? { connection: "close" } : {})
  })
  response.end(answer.text)
}

/** POST `config.path` on node:http, each request on a fiber of a `FiberSet` of the current scope. */
export const makeWebhookFastPath = (config: WebhookConfigShape) =>
  Effect.gen(function*() {
    const accept = yield* makeAcceptUpdate(config)
    const runFork = yield* FiberSet.makeRuntime<never, WebhookAnswer, never>()
    // With tracing on, the platform's server answers, with its request span (`http.server POST`).
    const traced = yield* FiberRef.get(FiberRef.currentTracerEnabled)
    const route: FastRoute = (request, response) => {
      if (traced || request.method !== "POST" || (request.url ?? "").split("?")[0] !== config.path) return false
      const fiber = runFork(accept(request.headers, request))
      response.on("close", () => {
        if (!response.writableEnded) fiber.unsafeInterruptAsFork(FiberId.none)
      })
      fiber.addObserver((exit) =>
        send(response, Exit.isSuccess(exit) ? exit.value : Exit.isInterrupted(exit) ? interrupted : failed)
      )
      return true
    }
    return route
  })

/**
 * The server with `route` in front of its request listeners: a request the route handles
 * never reaches them (the platform's server listens to the same event).
 */
export const withFastRoute = (server: Server, route: FastRoute): Server => {
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: Array<unknown>) => boolean
  const routed = (event: string | symbol, ...args: Array<unknown>): boolean =>
    event === "request" && route(args[0] as IncomingMessage, args[1] as ServerResponse) ? true : emit(event, ...args)
  server.emit = routed as Server["emit"]
  return server
}
