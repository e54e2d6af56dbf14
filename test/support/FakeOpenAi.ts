/**
 * A fake OpenAI-compatible endpoint: a real HTTP server on 127.0.0.1 (port 0) implementing
 * POST /v1/chat/completions (JSON, or server-sent events when the request asks for `stream`:
 * the text in chunks, the usage in a last chunk when `stream_options.include_usage` is set), so
 * the real `openai` SDK talks to it. It
 * records every request and answers from a script: texts, tool calls (several at once,
 * malformed arguments, unknown tools), HTTP errors with headers (429 with retry-after, 500),
 * raw bodies (garbage), delays and answers that never come. Replies scripted for a model are
 * used before the shared queue; with neither, `fallback` answers, else a 400 says so.
 * POST /v1/audio/transcriptions (multipart, as the SDK sends it) is recorded and answered from
 * a script of its own. The image parts of user messages are recorded as their data URLs.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Duration, Effect, Layer, Option, Redacted, type Scope } from "effect"
import { LlmConfig, type LlmConfigShape } from "../../src/llm/LlmConfig.ts"
import { LanguageModelOpenAi } from "../../src/llm/OpenAiModel.ts"

export interface FakeToolCall {
  readonly name: string
  /** An object is sent as its JSON text; a string is sent as it is (malformed arguments). */
  readonly arguments?: string | Record<string, unknown>
  readonly id?: string
}

/** The tokens the fake reports; `cached` and `reasoning` go in the details objects, as OpenAI sends them. */
export interface FakeUsage {
  readonly prompt: number
  readonly completion: number
  readonly cached?: number
  readonly reasoning?: number
}

/** A usage as the Chat Completions API writes it. */
const wireUsage = (usage: FakeUsage) => ({
  prompt_tokens: usage.prompt,
  completion_tokens: usage.completion,
  total_tokens: usage.prompt + usage.completion,
  ...(usage.cached === undefined ? {} : { prompt_tokens_details: { cached_tokens: usage.cached } }),
  ...(usage.reasoning === undefined ? {} : { completion_tokens_details: { reasoning_tokens: usage.reasoning } })
})

export type FakeCompletion =
  | string
  | {
    readonly text?: string | null
    readonly toolCalls?: ReadonlyArray<FakeToolCall>
    /** `null` leaves `usage` out of the response. */
    readonly usage?: FakeUsage | null
    readonly model?: string
  }
  | { readonly status: number; readonly error?: string; readonly headers?: Readonly<Record<string, string>> }
  | { readonly raw: string; readonly status?: number; readonly contentType?: string }
  | { readonly delayMs: number; readonly then: FakeCompletion }
  /**
   * A streamed answer in these pieces, `everyMs` apart (the first after `firstMs`, by default
   * `everyMs` too); `cut` ends the connection after them without the end of the stream.
   */
  | { readonly chunks: ReadonlyArray<string>; readonly everyMs?: number; readonly firstMs?: number; readonly cut?: boolean }
  | { readonly hang: true }
  | ((request: FakeRequest) => FakeCompletion)

export interface FakeRequest {
  readonly path: string
  /** The Authorization header as received. */
  readonly authorization: string
  readonly model: string
  readonly messages: ReadonlyArray<Record<string, unknown>>
  readonly tools: ReadonlyArray<Record<string, unknown>> | undefined
  /** The whole JSON body. */
  readonly body: Record<string, unknown>
  /** The `image_url` URLs of the user messages' content parts, in order. */
  readonly images: ReadonlyArray<string>
}

/** A transcription request as received: the multipart form's fields. */
export interface FakeTranscriptionRequest {
  readonly authorization: string
  readonly model: string
  readonly fileName: string
  readonly fileType: string
  readonly bytes: Uint8Array
}

/** What the transcription endpoint answers: a text, an error, or nothing. */
export type FakeTranscription =
  | string
  | { readonly status: number; readonly error?: string }
  | { readonly hang: true }

export interface FakeOpenAi {
  /** The base URL to give the client (OPENAI_BASE_URL), ending in /v1. */
  readonly url: string
  /** Requests received, in order. */
  readonly requests: Effect.Effect<ReadonlyArray<FakeRequest>>
  /** Queues replies for any model. */
  readonly script: (...replies: ReadonlyArray<FakeCompletion>) => Effect.Effect<void>
  /** Queues replies for one model; they are used before the shared queue. */
  readonly scriptFor: (model: string, ...replies: ReadonlyArray<FakeCompletion>) => Effect.Effect<void>
  /** Completes once at least `count` requests were received. */
  readonly waitForRequests: (count: number) => Effect.Effect<ReadonlyArray<FakeRequest>>
  /** Requests the client gave up before an answer was written (aborted). */
  readonly aborted: Effect.Effect<number>
  /** Completes once at least `count` requests were aborted. */
  readonly waitForAborted: (count: number) => Effect.Effect<void>
  /** Queues answers of the transcription endpoint; with none queued it answers a 400. */
  readonly scriptTranscriptions: (...replies: ReadonlyArray<FakeTranscription>) => Effect.Effect<void>
  /** Transcription requests received, in order. */
  readonly transcriptions: Effect.Effect<ReadonlyArray<FakeTranscriptionRequest>>
}

/** The image URLs in the content parts of user messages. */
const imageUrls = (messages: ReadonlyArray<Record<string, unknown>>): ReadonlyArray<string> =>
  messages.flatMap((message) =>
    message["role"] !== "user" || !Array.isArray(message["content"])
      ? []
      : (asRecords(message["content"]) ?? []).flatMap((part) => {
        const url = asRecord(part["image_url"])?.["url"]
        return part["type"] === "image_url" && typeof url === "string" ? [url] : []
      })
  )

const asRecord = (value: unknown): Record<string, unknown> | undefined =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined

const asRecords = (value: unknown): ReadonlyArray<Record<string, unknown>> | undefined =>
  Array.isArray(value)
    ? value.flatMap((item: unknown): ReadonlyArray<Record<string, unknown>> => {
      const record = asRecord(item)
      return record === undefined ? [] : [record]
    })
    : undefined

export const makeFakeOpenAi = (
  options: { readonly fallback?: (request: FakeRequest) => FakeCompletion } = {}
): Effect.Effect<FakeOpenAi, never, Scope.Scope> =>
  Effect.gen(function*() {
    const requests: Array<FakeRequest> = []
    const shared: Array<FakeCompletion> = []
    const perModel = new Map<string, Array<FakeCompletion>>()
    let waiters: Array<() => void> = []
    let aborted = 0
    let ids = 0
    const transcriptionScript: Array<FakeTranscription> = []
    const transcriptionRequests: Array<FakeTranscriptionRequest> = []

    /** The multipart body read with the platform's own parser (what a real server would see). */
    const transcribe = (req: Http.IncomingMessage, res: Http.ServerResponse, raw: Buffer) => {
      const contentType = req.headers["content-type"] ?? ""
      new Response(raw, { headers: { "content-type": contentType } }).formData().then(
        async (form) => {
          const file = form.get("file")
          if (!(file instanceof Blob)) return apiError(res, 400, "the form has no file")
          transcriptionRequests.push({
            authorization: req.headers.authorization ?? "",
            model: String(form.get("model") ?? ""),
            fileName: file instanceof File ? file.name : "",
            fileType: file.type,
            bytes: new Uint8Array(await file.arrayBuffer())
          })
          notify()
          const scripted = transcriptionScript.shift()
          if (scripted === undefined) return apiError(res, 400, "fake: no transcription scripted")
          if (typeof scripted === "string") return send(res, 200, JSON.stringify({ text: scripted }))
          if ("hang" in scripted) return
          return apiError(res, scripted.status, scripted.error ?? `fake error ${scripted.status}`)
        },
        () => apiError(res, 400, "the body is not multipart form data")
      )
    }

    const notify = () => {
      const current = waiters
      waiters = []
      for (const waiter of current) waiter()
    }

    const send = (res: Http.ServerResponse, status: number, body: string, headers: Readonly<Record<string, string>> = {}) => {
      if (res.writableEnded || res.destroyed) return
      res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...headers })
      res.end(body)
    }
    const apiError = (res: Http.ServerResponse, status: number, message: string, headers?: Readonly<Record<string, string>>) =>
      send(res, status, JSON.stringify({ error: { message, type: "fake_error", code: null } }), headers)

    const completion = (
      request: FakeRequest,
      reply: { readonly text?: string | null; readonly toolCalls?: ReadonlyArray<FakeToolCall>; readonly usage?: FakeUsage | null; readonly model?: string }
    ) => {
      const toolCalls = (reply.toolCalls ?? []).map((call) => ({
        id: call.id ?? `call_fake_${++ids}`,
        type: "function",
        function: {
          name: call.name,
          arguments: typeof call.arguments === "string" ? call.arguments : JSON.stringify(call.arguments ?? {})
        }
      }))
      const usage = reply.usage === null
        ? {}
        : { usage: wireUsage(reply.usage ?? { prompt: 11, completion: 7 }) }
      return JSON.stringify({
        id: `chatcmpl-${++ids}`,
        object: "chat.completion",
        created: 1_764_300_000,
        model: reply.model ?? request.model,
        choices: [{
          index: 0,
          message: {
            role: "assistant",
            content: reply.text === undefined ? (toolCalls.length > 0 ? null : "") : reply.text,
            ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {})
          },
          finish_reason: toolCalls.length > 0 ? "tool_calls" : "stop"
        }],
        ...usage
      })
    }

    /** A streamed answer as server-sent events: one chunk per piece, then the end (and the usage when asked). */
    const sse = (
      res: Http.ServerResponse,
      request: FakeRequest,
      pieces: ReadonlyArray<string>,
      everyMs: number,
      cut: boolean,
      usage: FakeUsage | null = { prompt: 11, completion: pieces.length },
      firstMs = everyMs
    ) => {
      const id = `chatcmpl-${++ids}`
      const chunk = (choices: ReadonlyArray<unknown>, extra: Record<string, unknown> = {}) =>
        `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: 1_764_300_000, model: request.model, choices, ...extra })}\n\n`
      const options = asRecord(request.body["stream_options"])
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" })
      let index = 0
      const next = () => {
        if (res.destroyed) return
        if (index < pieces.length) {
          const content = pieces[index++]
          res.write(chunk([{ index: 0, delta: index === 1 ? { role: "assistant", content } : { content }, finish_reason: null }]))
          timer = setTimeout(next, everyMs)
          return
        }
        if (cut) {
          res.socket?.destroy()
          return
        }
        res.write(chunk([{ index: 0, delta: {}, finish_reason: "stop" }]))
        if (options?.["include_usage"] === true && usage !== null) {
          res.write(chunk([], { usage: wireUsage(usage) }))
        }
        res.end("data: [DONE]\n\n")
      }
      let timer = setTimeout(next, firstMs)
      res.on("close", () => clearTimeout(timer))
    }

    const reply = (res: Http.ServerResponse, request: FakeRequest, scripted: FakeCompletion): void => {
      if (typeof scripted === "function") return reply(res, request, scripted(request))
      const streaming = request.body["stream"] === true
      if (typeof scripted === "object" && "chunks" in scripted) return sse(res, request, scripted.chunks, scripted.everyMs ?? 0, scripted.cut === true, undefined, scripted.firstMs ?? scripted.everyMs ?? 0)
      const words = (text: string | null | undefined) => (text ?? "").match(/\s*\S+\s*/g) ?? []
      if (streaming && typeof scripted === "string") return sse(res, request, words(scripted), 0, false)
      if (streaming && typeof scripted === "object" && !("status" in scripted) && !("raw" in scripted) && !("hang" in scripted) && !("delayMs" in scripted)) {
        return sse(res, request, words(scripted.text), 0, false, scripted.usage === undefined ? { prompt: 11, completion: 7 } : scripted.usage)
      }
      if (typeof scripted === "string") return send(res, 200, completion(request, { text: scripted }))
      if ("hang" in scripted) return
      if ("delayMs" in scripted) {
        const timer = setTimeout(() => reply(res, request, scripted.then), scripted.delayMs)
        res.on("close", () => clearTimeout(timer))
        return
      }
      if ("raw" in scripted) {
        return send(res, scripted.status ?? 200, scripted.raw, { "content-type": scripted.contentType ?? "text/plain" })
      }
      if ("status" in scripted) return apiError(res, scripted.status, scripted.error ?? `fake error ${scripted.status}`, scripted.headers)
      return send(res, 200, completion(request, scripted))
    }

    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        res.on("close", () => {
          if (!res.writableEnded) {
            aborted++
            notify()
          }
        })
        if (req.method === "POST" && req.url === "/v1/audio/transcriptions") return transcribe(req, res, Buffer.concat(chunks))
        if (req.method !== "POST" || req.url !== "/v1/chat/completions") return apiError(res, 404, `no route ${req.method} ${req.url}`)
        let body: Record<string, unknown> | undefined
        try {
          body = asRecord(JSON.parse(Buffer.concat(chunks).toString("utf8")))
        } catch {
          body = undefined
        }
        if (body === undefined) return apiError(res, 400, "the body is not a JSON object")
        const request: FakeRequest = {
          path: req.url,
          authorization: req.headers.authorization ?? "",
          model: typeof body["model"] === "string" ? body["model"] : "",
          messages: asRecords(body["messages"]) ?? [],
          tools: asRecords(body["tools"]),
          body,
          images: imageUrls(asRecords(body["messages"]) ?? [])
        }
        requests.push(request)
        notify()
        const scripted = perModel.get(request.model)?.shift() ?? shared.shift()
        if (scripted !== undefined) return reply(res, request, scripted)
        if (options.fallback !== undefined) return reply(res, request, options.fallback(request))
        return apiError(res, 400, `fake: no reply scripted for model ${request.model}`)
      })
    })

    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )

    const waitUntil = <A>(check: () => Option.Option<A>) =>
      Effect.async<A>((resume) => {
        const now = check()
        if (Option.isSome(now)) return resume(Effect.succeed(now.value))
        const waiter = () => {
          const found = check()
          if (Option.isSome(found)) resume(Effect.succeed(found.value))
          else waiters.push(waiter)
        }
        waiters.push(waiter)
        return Effect.sync(() => {
          waiters = waiters.filter((w) => w !== waiter)
        })
      })

    return {
      url: `http://127.0.0.1:${port}/v1`,
      requests: Effect.sync(() => [...requests]),
      script: (...replies) => Effect.sync(() => void shared.push(...replies)),
      scriptFor: (model, ...replies) =>
        Effect.sync(() => {
          perModel.set(model, [...(perModel.get(model) ?? []), ...replies])
        }),
      waitForRequests: (count) => waitUntil(() => (requests.length >= count ? Option.some([...requests]) : Option.none())),
      aborted: Effect.sync(() => aborted),
      waitForAborted: (count) => waitUntil(() => (aborted >= count ? Option.some(undefined) : Option.none())),
      scriptTranscriptions: (...replies) => Effect.sync(() => void transcriptionScript.push(...replies)),
      transcriptions: Effect.sync(() => [...transcriptionRequests])
    } satisfies FakeOpenAi
  })

export const testKey = "sk-test-0123456789abcdefSECRET"

/** Settings of the live model against a fake: short timeouts and backoff, the test key. */
export const llmConfigFor = (fake: { readonly url: string }, overrides: Partial<LlmConfigShape> = {}) =>
  LlmConfig.make({
    apiKey: Option.some(Redacted.make(testKey)),
    baseUrl: Option.some(fake.url),
    timeout: Duration.seconds(5),
    backoffBase: Duration.millis(1),
    retryAfterCap: Duration.millis(200),
    ...overrides
  })

/** The live model (the real SDK) pointed at a fake. */
export const openAiLayerFor = (fake: { readonly url: string }, overrides: Partial<LlmConfigShape> = {}) =>
  LanguageModelOpenAi.pipe(Layer.provide(llmConfigFor(fake, overrides)))
