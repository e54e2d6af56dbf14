/**
 * The bot's HTTP client (`keepAliveRequest.ts`) as a `fetch`, for the openai SDK (model calls
 * and transcriptions): every request the SDK makes goes on the same keep-alive agents as the
 * Bot API's.
 *
 * The global fetch costs about four times the CPU per call of a plain keep-alive request
 * (bench/README.md), and every dialog makes five calls. A request whose body is a string or
 * bytes (every model call) is sent as it is; any other kind (a `Request`, a multipart upload of
 * a transcription) is first read whole into bytes and headers by the platform's `Request`.
 * Failures look like fetch's: a `TypeError` for a connection error, an `AbortError` when aborted.
 *
 * A body is read whole before the response is handed on, except a stream of server-sent
 * events (`text/event-stream`, a streamed completion), whose body is handed on as it arrives.
 * A whole JSON answer (every model call's) is a `JsonResponse`: its `text()` and `json()`
 * read the bytes already there, without the body stream a `Response` builds for them (about a
 * third of this adapter's CPU per call; issue 15).
 */
import type * as http from "node:http"
import { Readable } from "node:stream"
import { type Outgoing, readWhole, send } from "./keepAliveRequest.ts"

const abortError = (signal: AbortSignal): Error => {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name === "AbortError") return reason
  const error = new Error("This operation was aborted")
  error.name = "AbortError"
  return error
}

const headersOf = (headers: unknown): Record<string, string> => {
  const result: Record<string, string> = {}
  const all = headers instanceof Headers ? headers : new Headers(headers as ConstructorParameters<typeof Headers>[0])
  all.forEach((value, name) => {
    result[name] = value
  })
  return result
}

/** The request as it goes on the wire: at once for a string or byte body, else read by a `Request`. */
const outgoingOf = (input: string | URL | Request, init: RequestInit | undefined): Outgoing | Promise<Outgoing> => {
  const body = init?.body
  if (!(input instanceof Request) && (body === undefined || body === null || typeof body === "string" || body instanceof Uint8Array)) {
    return {
      method: init?.method ?? "GET",
      url: new URL(String(input)),
      headers: headersOf(init?.headers),
      body: body ?? undefined
    }
  }
  const request = new Request(input, init)
  return request.arrayBuffer().then((bytes) => ({
    method: request.method,
    url: new URL(request.url),
    headers: headersOf(request.headers),
    body: request.body === null ? undefined : new Uint8Array(bytes)
  }))
}

/**
 * A whole answer whose bytes are already read: `text()`, `json()` and `arrayBuffer()` answer
 * from them; `body` is null, so nothing reads the bytes through a stream.
 */
export class JsonResponse extends Response {
  readonly #bytes: Buffer
  constructor(bytes: Buffer, init: ResponseInit) {
    super(null, init)
    this.#bytes = bytes
  }
  override text = (): Promise<string> => Promise.resolve(this.#bytes.toString("utf8"))
  override json = (): Promise<unknown> => {
    try {
      return Promise.resolve(JSON.parse(this.#bytes.toString("utf8")))
    } catch (error) {
      return Promise.reject(error)
    }
  }
  override arrayBuffer = (): Promise<ArrayBuffer> => {
    const bytes = this.#bytes
    return Promise.resolve(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer)
  }
}

const isJson = (contentType: string | undefined): boolean => {
  const media = contentType?.split(";")[0]?.trim().toLowerCase() ?? ""
  return media === "application/json" || media.endsWith("+json")
}

const responseHeaders = (raw: http.IncomingHttpHeaders): Headers => {
  const headers = new Headers()
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined) continue
    headers.set(name, Array.isArray(value) ? value.join(", ") : value)
  }
  return headers
}

/** `fetch` on the bot's HTTP client. */
export const keepAliveFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const signal = init?.signal ?? (input instanceof Request ? input.signal : undefined)
  if (signal?.aborted) return Promise.reject(abortError(signal))
  const request = outgoingOf(input, init)
  return request instanceof Promise ? request.then((ready) => exchange(ready, signal)) : exchange(request, signal)
}

/** One request and its answer, as fetch answers it. */
const exchange = (request: Outgoing, signal: AbortSignal | undefined): Promise<Response> =>
  new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(signal))
    const onAbort = () => {
      outgoing?.destroy()
      reject(abortError(signal!))
    }
    const failed = (error: Error) => {
      signal?.removeEventListener("abort", onAbort)
      reject(signal?.aborted ? abortError(signal) : new TypeError("fetch failed", { cause: error }))
    }
    const answer = (response: http.IncomingMessage) => {
      const init = { status: response.statusCode ?? 0, statusText: response.statusMessage ?? "", headers: responseHeaders(response.headers) }
      if (/^text\/event-stream/i.test(response.headers["content-type"] ?? "")) {
        // Aborting destroys the request, which ends this body with an error, as fetch's does.
        response.once("close", () => signal?.removeEventListener("abort", onAbort))
        return resolve(new Response(Readable.toWeb(response) as ReadableStream<Uint8Array>, init))
      }
      readWhole(response, undefined, {
        onError: (error) => reject(new TypeError("fetch failed", { cause: error })),
        onEnd: (bytes) => {
          signal?.removeEventListener("abort", onAbort)
          const status = init.status
          if (status === 204 || status === 304) return resolve(new Response(null, init))
          resolve(
            isJson(response.headers["content-type"]) && status >= 200 && status <= 599
              ? new JsonResponse(bytes, init)
              : new Response(bytes, init)
          )
        }
      })
    }
    const outgoing = send(request, answer, failed)
    if (outgoing !== undefined) signal?.addEventListener("abort", onAbort, { once: true })
  })
