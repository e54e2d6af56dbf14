/**
 * The bot's HTTP client: requests over node:http / node:https on shared keep-alive agents. The
 * Bot API's calls and file downloads use it as an Effect (`keepAliveRequest`), the openai SDK
 * as a `fetch` (`keepAliveFetch.ts`, over `send` and `readWhole` below): one client, two faces.
 *
 * A Bot API call through @effect/platform's HttpClient (request and response objects, a
 * `fetch` Response, header maps, stream plumbing) cost about 1.5 ms of CPU against 0.33 ms for a
 * plain keep-alive request (bench/README.md, issue 15); this is the plain request: a method,
 * headers, a string or byte body, and the answer's status, headers and bytes. Interrupting the
 * effect destroys the request (its socket is not reused). A failure is a `KeepAliveRequestError`
 * that says whether the request could not be made (`stage: "request"`: refused, reset, DNS,
 * TLS), its answer could not be read (`stage: "response"`, with the status), with node's error as
 * cause, no whole answer came within the request's `timeoutMs` (`stage: "timeout"`: the request
 * is destroyed), or the answer passed the request's `maxBytes` (`stage: "tooLarge"`: announced by
 * its content-length, or while it came; the rest is not read). The deadline is a timer of the
 * request itself: `Effect.timeout` around the effect would race it against a second fiber on
 * every call, two fibers per Bot API call (issue 15).
 */
import * as http from "node:http"
import * as https from "node:https"
import { Data, Effect } from "effect"

/** The agents of every request the bot makes. */
const keepAliveAgents = {
  "http:": new http.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 64 }),
  "https:": new https.Agent({ keepAlive: true, keepAliveMsecs: 30_000, maxSockets: 64 })
} as const

/** One request as it goes on the wire. */
export interface Outgoing {
  readonly method: string
  readonly url: URL
  readonly headers: Readonly<Record<string, string>>
  readonly body?: string | Uint8Array | undefined
}

/**
 * Sends `request` on the shared agents and hands node's answer to `onResponse`, or what kept the
 * request from being made (a protocol other than http and https included) to `onError`. Answers
 * the request (to destroy it), or nothing when it could not be started.
 */
export const send = (
  request: Outgoing,
  onResponse: (response: http.IncomingMessage) => void,
  onError: (cause: Error) => void
): http.ClientRequest | undefined => {
  const protocol = request.url.protocol
  if (protocol !== "http:" && protocol !== "https:") {
    onError(new Error(`unsupported protocol ${protocol}`))
    return undefined
  }
  const transport = protocol === "https:" ? https : http
  const headers: Record<string, string | number> = { ...request.headers }
  if (request.body !== undefined) headers["content-length"] = Buffer.byteLength(request.body)
  const outgoing = transport.request(request.url, { method: request.method, headers, agent: keepAliveAgents[protocol] }, onResponse)
  outgoing.on("error", onError)
  outgoing.end(request.body)
  return outgoing
}

export interface WholeBody {
  readonly onEnd: (bytes: Buffer) => void
  /** The answer broke off before its end. */
  readonly onError: (cause: Error) => void
  /** The body passed the limit: nothing more of it is read. */
  readonly onTooLarge?: (() => void) | undefined
}

/** Reads a whole body, up to `limit` bytes when one is given. */
export const readWhole = (response: http.IncomingMessage, limit: number | undefined, handlers: WholeBody): void => {
  const chunks: Array<Buffer> = []
  let size = 0
  const onData = (chunk: Buffer) => {
    size += chunk.length
    if (limit !== undefined && size > limit) {
      response.off("data", onData)
      handlers.onTooLarge?.()
      return
    }
    chunks.push(chunk)
  }
  response.on("data", onData)
  response.on("error", handlers.onError)
  response.on("aborted", () => handlers.onError(new Error("the connection closed before the answer was complete")))
  response.on("end", () => handlers.onEnd(Buffer.concat(chunks)))
}

/** The request could not be made, or its answer not read. */
export class KeepAliveRequestError extends Data.TaggedError("KeepAliveRequestError")<{
  readonly stage: "request" | "response" | "timeout" | "tooLarge"
  readonly status?: number | undefined
  /** With `stage: "tooLarge"`: the size the answer announced, when it did. */
  readonly size?: number | undefined
  readonly cause: unknown
}> {}

export interface KeepAliveRequest extends Outgoing {
  readonly method: "GET" | "POST"
  /** No whole answer within this many milliseconds fails with `stage: "timeout"`. */
  readonly timeoutMs?: number | undefined
  /** An answer longer than this many bytes fails with `stage: "tooLarge"`. */
  readonly maxBytes?: number | undefined
}

export interface KeepAliveResponse {
  readonly status: number
  readonly headers: http.IncomingHttpHeaders
  readonly body: Buffer
}

/** Sends the request and reads the whole answer. */
export const keepAliveRequest = (request: KeepAliveRequest): Effect.Effect<KeepAliveResponse, KeepAliveRequestError> =>
  Effect.async<KeepAliveResponse, KeepAliveRequestError>((resume) => {
    let done = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = (result: Effect.Effect<KeepAliveResponse, KeepAliveRequestError>) => {
      if (done) return
      done = true
      if (timer !== undefined) clearTimeout(timer)
      resume(result)
    }
    const { maxBytes } = request
    const tooLarge = (status: number, size?: number) => {
      finish(Effect.fail(new KeepAliveRequestError({ stage: "tooLarge", status, size, cause: new Error(`more than ${maxBytes} bytes`) })))
      outgoing?.destroy()
    }
    const outgoing = send(request, (response) => {
      const status = response.statusCode ?? 0
      const announced = maxBytes === undefined ? Number.NaN : Number(response.headers["content-length"])
      if (maxBytes !== undefined && announced > maxBytes) return tooLarge(status, announced)
      readWhole(response, maxBytes, {
        onEnd: (body) => finish(Effect.succeed({ status, headers: response.headers, body })),
        onError: (cause) => finish(Effect.fail(new KeepAliveRequestError({ stage: "response", status, cause }))),
        onTooLarge: () => tooLarge(status)
      })
    }, (cause) => finish(Effect.fail(new KeepAliveRequestError({ stage: "request", cause }))))
    // setTimeout fires at once beyond 2^31 - 1 ms: a longer (or infinite) deadline is no deadline.
    if (outgoing !== undefined && request.timeoutMs !== undefined && request.timeoutMs <= 2_147_483_647) {
      timer = setTimeout(() => {
        finish(Effect.fail(new KeepAliveRequestError({ stage: "timeout", cause: new Error(`no answer within ${request.timeoutMs} ms`) })))
        outgoing.destroy()
      }, request.timeoutMs)
    }
    return Effect.sync(() => {
      done = true
      if (timer !== undefined) clearTimeout(timer)
      outgoing?.destroy()
    })
  })
