/**
 * The webhook's route: POST `WEBHOOK_PATH` is answered straight from the node server's request
 * event, without the platform's request and response objects, router and middleware; every
 * other request (`/healthz`, `/metrics`, …) goes on to the platform's server.
 *
 * The webhook is the hottest route of the bot: every update passes it. Through the platform's
 * server an accepted update cost about 1.2 ms of CPU against 0.11 ms for grammY's
 * `webhookCallback` (bench/README.md, issue 15). Each request runs on a fiber of the server's
 * `FiberSet` (interrupted when the layer closes), a client that goes away interrupts its fiber,
 * and a defect is answered 500 (the update was not acknowledged, so Telegram delivers it again).
 *
 * With tracing on (a collector configured) each request has the span the platform's server
 * would give it, `http.server POST` (kind server, continuing a `traceparent` the request
 * carries, request headers with the secret ones redacted, the answer's status), around the
 * handler's `telegram.webhook`. With tracing off the route does not look at tracing at all.
 */
import type { IncomingMessage, Server, ServerResponse } from "node:http"
import { Headers, HttpTraceContext } from "@effect/platform"
import { Effect, Exit, FiberId, FiberRef, FiberSet, Option } from "effect"
import { updateMetric, webhookResponses, withTags } from "../observability/Metrics.ts"
import type { WebhookConfigShape } from "./TelegramConfig.ts"
import { makeAcceptUpdate, type WebhookAnswer } from "./WebhookRequest.ts"

/** Handles a request and says so (`true`), or leaves it to the next handler (`false`). */
export type Route = (request: IncomingMessage, response: ServerResponse) => boolean

const failed: WebhookAnswer = { status: 500, text: "internal error" }
const interrupted: WebhookAnswer = { status: 503, text: "shutting down" }

/** The answer of a request's fiber: its own, or 503 when interrupted, 500 on a defect. */
const statusOf = (exit: Exit.Exit<WebhookAnswer>): WebhookAnswer =>
  Exit.isSuccess(exit) ? exit.value : Exit.isInterrupted(exit) ? interrupted : failed

const send = (response: ServerResponse, answer: WebhookAnswer) => {
  if (response.writableEnded || response.destroyed) return
  response.writeHead(answer.status, {
    "content-type": "text/plain; charset=utf-8",
    "content-length": Buffer.byteLength(answer.text),
    ...(answer.close === true ? { connection: "close" } : {})
  })
  response.end(answer.text)
}

/**
 * The request's server span, as `HttpMiddleware.tracer` of @effect/platform makes it: the same
 * name, kind, parent and attributes, the header names of `Headers.currentRedactedNames`
 * redacted (`httpTracingDefaults` adds the webhook's secret header).
 */
const serverSpan = (redactedNames: ReadonlyArray<string | RegExp>) =>
(request: IncomingMessage, answer: Effect.Effect<WebhookAnswer>): Effect.Effect<WebhookAnswer> => {
  const headers = Headers.fromInput(request.headers)
  const method = request.method ?? "POST"
  return Effect.useSpan(
    `http.server ${method}`,
    { parent: Option.getOrUndefined(HttpTraceContext.fromHeaders(headers)), kind: "server", captureStackTrace: false },
    (span) => {
      const [path, query = ""] = (request.url ?? "").split("?", 2)
      span.attribute("http.request.method", method)
      if (headers["host"] !== undefined) span.attribute("url.full", `http://${headers["host"]}${request.url ?? ""}`)
      span.attribute("url.path", path)
      if (query !== "") span.attribute("url.query", query)
      span.attribute("url.scheme", "http")
      if (headers["user-agent"] !== undefined) span.attribute("user_agent.original", headers["user-agent"])
      const redacted = Headers.redact(headers, redactedNames)
      for (const name in redacted) span.attribute(`http.request.header.${name}`, String(redacted[name]))
      if (request.socket.remoteAddress !== undefined) span.attribute("client.address", request.socket.remoteAddress)
      return Effect.tap(
        Effect.withParentSpan(answer, span),
        (answer) => Effect.sync(() => span.attribute("http.response.status_code", answer.status))
      )
    }
  )
}

/** POST `config.path` on node:http, each request on a fiber of a `FiberSet` of the current scope. */
export const makeWebhookRoute = (config: WebhookConfigShape) =>
  Effect.gen(function*() {
    const accept = yield* makeAcceptUpdate(config)
    const runFork = yield* FiberSet.makeRuntime<never, WebhookAnswer, never>()
    // Whether to trace is known once, when the server starts: the tracing layers are in place by then.
    const traced = (yield* FiberRef.get(FiberRef.currentTracerEnabled))
      ? serverSpan(yield* FiberRef.get(Headers.currentRedactedNames))
      : undefined
    const route: Route = (request, response) => {
      if (request.method !== "POST" || (request.url ?? "").split("?")[0] !== config.path) return false
      const answer = accept(request.headers, request).pipe(
        Effect.onExit((exit) => updateMetric(withTags(webhookResponses, { code: String(statusOf(exit).status) }), 1))
      )
      const fiber = runFork(traced === undefined ? answer : traced(request, answer))
      response.on("close", () => {
        if (!response.writableEnded) fiber.unsafeInterruptAsFork(FiberId.none)
      })
      fiber.addObserver((exit) => send(response, statusOf(exit)))
      return true
    }
    return route
  })

/**
 * The server with `route` in front of its request listeners: a request the route handles
 * never reaches them (the platform's server listens to the same event).
 */
export const withRoute = (server: Server, route: Route): Server => {
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: Array<unknown>) => boolean
  const routed = (event: string | symbol, ...args: Array<unknown>): boolean =>
    event === "request" && route(args[0] as IncomingMessage, args[1] as ServerResponse) ? true : emit(event, ...args)
  server.emit = routed as Server["emit"]
  return server
}
