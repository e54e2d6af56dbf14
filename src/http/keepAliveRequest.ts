/**
 * One HTTP request over node:http / node:https on keep-alive agents, as an Effect: the
 * transport of the Bot API client (`src/telegram/TelegramHttp.ts`).
 *
 * A Bot API call through @effect/platform's HttpClient (request and response objects, a
 * `fetch` Response, header maps, stream plumbing) cost about 1.5 ms of CPU against 0.33 ms for a
 * plain keep-alive request (bench/README.md, issue 15); this is the plain request: a method,
 * headers, a string body, and the answer's status and text. Interrupting the effect destroys
 * the request (its socket is not reused). A failure is a `KeepAliveRequestError` that says
 * whether the request could not be made (`stage: "request"`: refused, reset, DNS, TLS), its
 * answer could not be read (`stage: "response"`, with the status), with node's error as cause,
 * or no whole answer came within the request's `timeoutMs` (`stage: "timeout"`: the request is
 * destroyed). The deadline is a timer of the request itself: `Effect.timeout` around the effect
 * would race it against a second fiber on every call, two fibers per Bot API call (issue 15).
 */
import * as http from "node:http"
import * as https from "node:https"
import { Data, Effect } from "effect"

/** The agents shared by the bot's HTTP clients (this one and `keepAliveFetch`). */
export const keepAliveAgents = {
  "http:": new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 64 }),
  "https:": new https.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 64 })
} as const

/** The request could not be made, or its answer not read. */
export class KeepAliveRequestError extends Data.TaggedError("KeepAliveRequestError")<{
  readonly stage: "request" | "response" | "timeout"
  readonly status?: number | undefined
  readonly cause: unknown
}> {}

export interface KeepAliveRequest {
  readonly method: "GET" | "POST"
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | undefined
  /** No whole answer within this many milliseconds fails with `stage: "timeout"`. */
  readonly timeoutMs?: number | undefined
}

export interface KeepAliveResponse {
  readonly status: number
  readonly body: string
}

/** Sends the request and reads the whole answer as UTF-8 text. */
export const keepAliveRequest = (request: KeepAliveRequest): Effect.Effect<KeepAliveResponse, KeepAliveRequestError> =>
  Effect.async<KeepAliveResponse, KeepAliveRequestError>((resume) => {
    const protocol = request.url.protocol
    if (protocol !== "http:" && protocol !== "https:") {
      resume(Effect.fail(new KeepAliveRequestError({ stage: "request", cause: new Error(`unsupported protocol ${protocol}`) })))
      return
    }
    let done = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = (result: Effect.Effect<KeepAliveResponse, KeepAliveRequestError>) => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      resume(result)
    }
    const headers: Record<string, string | number> = { ...request.headers }
    if (request.body !== undefined) headers["content-length"] = Buffer.byteLength(request.body)
    const transport = protocol === "https:" ? https : http
    const outgoing = transport.request(request.url, { method: request.method, headers, agent: keepAliveAgents[protocol] }, (response) => {
      const status = response.statusCode ?? 0
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("error", (cause) => finish(Effect.fail(new KeepAliveRequestError({ stage: "response", status, cause }))))
      response.on("aborted", () =>
        finish(Effect.fail(new KeepAliveRequestError({ stage: "response", status, cause: new Error("the connection closed before the answer was complete") }))))
      response.on("end", () => finish(Effect.succeed({ status, body: Buffer.concat(chunks).toString("utf8") })))
    })
    outgoing.on("error", (cause) => finish(Effect.fail(new KeepAliveRequestError({ stage: "request", cause }))))
    outgoing.end(request.body)
    // setTimeout fires at once beyond 2^31 - 1 ms: a longer (or infinite) deadline is no deadline.
    if (request.timeoutMs !== undefined && request.timeoutMs <= 2_147_483_647) {
      timer = setTimeout(() => {
        finish(Effect.fail(new KeepAliveRequestError({ stage: "timeout", cause: new Error(`no answer within ${request.timeoutMs} ms`) })))
        outgoing.destroy()
      }, request.timeoutMs)
    }
    return Effect.sync(() => {
      done = true
      if (timer !== undefined) clearTimeout(timer)
      outgoing.destroy()
    })
  })
