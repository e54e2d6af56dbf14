/**
 * A `fetch` over node:http / node:https with keep-alive agents, for the openai SDK (model
 * calls and transcriptions). The Bot API client sends plain requests (`keepAliveRequest.ts`).
 *
 * The global fetch costs about four times the CPU per call of a plain keep-alive request
 * (bench/README.md), and every dialog makes five calls. This adapter covers what those
 * clients send — a method, headers, a string or byte body, an AbortSignal — and hands any
 * other kind of request to the global fetch. Failures look like fetch's: a `TypeError` for a
 * connection error, an `AbortError` when aborted.
 *
 * A body is read whole before the response is handed on, except a stream of server-sent
 * events (`text/event-stream`, a streamed completion), whose body is handed on as it arrives.
 * A whole JSON answer (every model call's) is a `JsonResponse`: its `text()` and `json()`
 * read the bytes already there, without the body stream a `Response` builds for them (about a
 * third of this adapter's CPU per call; issue 15).
 */
import * as http from "node:http"
import * as https from "node:https"
import { Readable } from "node:stream"
import { keepAliveAgents as agents } from "./keepAliveRequest.ts"

const abortError = (signal: AbortSignal): Error => {
  const reason: unknown = signal.reason
  if (reason instanceof Error && reason.name === "AbortError") return reason
  const error = new Error("This operation was aborted")
  error.name = "AbortError"
  return error
}

const bodyOf = (body: unknown): string | Uint8Array | undefined | null => {
  if (body === undefined || body === null) return undefined
  if (typeof body === "string" || body instanceof Uint8Array) return body
  if (body instanceof ArrayBuffer) return new Uint8Array(body)
  return null
}

const headersOf = (headers: unknown): Record<string, string> => {
  const result: Record<string, string> = {}
  const all = headers instanceof Headers ? headers : new Headers(headers as ConstructorParameters<typeof Headers>[0])
  all.forEach((value, name) => {
    result[name] = value
  })
  return result
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

export const keepAliveFetch = (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
  const body = bodyOf(init?.body)
  if (input instanceof Request || body === null) return fetch(input, init)
  const url = new URL(String(input))
  const protocol = url.protocol
  if (protocol !== "http:" && protocol !== "https:") return fetch(input, init)
  const signal = init?.signal ?? undefined
  return new Promise<Response>((resolve, reject) => {
    if (signal?.aborted) {
      reject(abortError(signal))
      return
    }
    const transport = protocol === "https:" ? https : http
    const request = transport.request(url, {
      method: init?.method ?? "GET",
      headers: headersOf(init?.headers),
      agent: agents[protocol]
    }, (response) => {
      if (/^text\/event-stream/i.test(response.headers["content-type"] ?? "")) {
        // Aborting destroys the request, which ends this body with an error, as fetch's does.
        response.once("close", () => signal?.removeEventListener("abort", onAbort))
        const body = Readable.toWeb(response) as ReadableStream<Uint8Array>
        resolve(new Response(body, { status: response.statusCode ?? 0, statusText: response.statusMessage ?? "", headers: responseHeaders(response.headers) }))
        return
      }
      const chunks: Array<Buffer> = []
      response.on("data", (chunk: Buffer) => chunks.push(chunk))
      response.on("error", (error) => reject(new TypeError("fetch failed", { cause: error })))
      response.on("end", () => {
        signal?.removeEventListener("abort", onAbort)
        const status = response.statusCode ?? 0
        const init = { status, statusText: response.statusMessage ?? "", headers: responseHeaders(response.headers) }
        if (status === 204 || status === 304) return resolve(new Response(null, init))
        const bytes = Buffer.concat(chunks)
        resolve(
          isJson(response.headers["content-type"]) && status >= 200 && status <= 599
            ? new JsonResponse(bytes, init)
            : new Response(bytes, init)
        )
      })
    })
    const onAbort = () => {
      request.destroy()
      reject(abortError(signal!))
    }
    signal?.addEventListener("abort", onAbort, { once: true })
    request.on("error", (error) => {
      signal?.removeEventListener("abort", onAbort)
      reject(signal?.aborted ? abortError(signal) : new TypeError("fetch failed", { cause: error }))
    })
    request.end(body)
  })
}
