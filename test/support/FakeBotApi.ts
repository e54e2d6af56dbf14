/**
 * A fake Telegram Bot API: a real HTTP server on 127.0.0.1 (port 0) that the real client
 * talks to. It records every call, answers each method by default the way Telegram does,
 * and can be scripted per method: Bot API errors (429 with retry_after, 403, 400, 409…),
 * raw answers (HTML 500, empty bodies), slow answers and answers that never come. getUpdates
 * serves a queue of updates with Telegram's offset semantics and long-poll waiting. Files added
 * with `addFile` are served as Telegram does: `getFile` answers their `file_path`, and
 * `GET /file/bot<token>/<file_path>` their bytes (or a scripted fault). Drafts
 * (`sendMessageDraft`) and edits (`editMessageText`) are accepted, or drafts refused as an
 * older Bot API server does (`refuseDrafts`). Rich messages (Bot API 10.1: `sendRichMessage`,
 * `sendRichMessageDraft`, `editMessageText` with `rich_message`) are accepted with
 * `richMessages: "accepted"`; by default they are refused as a server before 10.1 does (404),
 * so that tests of other things see answers as text with entities. Forum topics are opened (`createForumTopic`,
 * answering a `ForumTopic`) and closed, and `copyMessage` answers a `MessageId`. Guest answers
 * (`answerGuestQuery`) answer a `SentGuestMessage` whose `inline_message_id` an
 * `editMessageText` with `inline_message_id` edits (answered `true`, as Telegram does for inline
 * messages); `answerInlineQuery` is accepted. The
 * benchmarks use it too: `latencyMs` stands for the round trip to the real Bot API, `reset`
 * forgets a warm-up.
 */
import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Context, Effect, Either, Layer, Schema, type Scope } from "effect"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { TelegramConfig, type TelegramConfigShape } from "../../src/telegram/TelegramConfig.ts"
import { TelegramApiHttp } from "../../src/telegram/TelegramHttp.ts"

export { eventually, realSleep } from "./realTime.ts"

export type FakeReply =
  | { readonly result: unknown }
  | {
    readonly error: number
    readonly description: string
    readonly retryAfter?: number
    readonly migrateToChatId?: number
  }
  | { readonly status: number; readonly body: string; readonly contentType?: string }
  | { readonly delayMs: number; readonly then: FakeReply }
  /** Answered when `until` resolves (a latch the test opens). */
  | { readonly until: Promise<unknown>; readonly then: FakeReply }
  | { readonly hang: true }
  /** The connection is destroyed without an answer (a reset). */
  | { readonly reset: true }

/**
 * A fault plan: asked for every call before the script and the default answer; a reply it
 * returns is used instead of them (the call is then not delivered), `undefined` lets it through.
 */
export type FaultPlan = (call: FakeCall) => FakeReply | undefined

export interface FakeCall {
  readonly method: string
  readonly params: Record<string, unknown>
  readonly token: string
  /** Milliseconds since the fake started (`performance.now()` less `startedAt`). */
  readonly at: number
}

/** A file users may have sent: its bytes, where getFile says it is, and how its download answers. */
export interface FakeFile {
  readonly bytes: Uint8Array
  /** `file_path` in getFile's answer (default `documents/file_<n>`). */
  readonly path?: string
  /** `file_size` in getFile's answer: the bytes' length by default, `null` leaves it out. */
  readonly size?: number | null
  /** Answers the download instead of the bytes (a 404, a hang, a reset…). */
  readonly download?: FakeReply
  /** Sends the bytes without a content-length, in chunks (a server that does not announce the size). */
  readonly chunked?: boolean
}

export interface FakeBotApi {
  /** The base URL to give the client (TELEGRAM_API_BASE_URL). */
  readonly url: string
  readonly token: string
  /** `performance.now()` when the fake started: a call's `at` plus this is its arrival on that clock. */
  readonly startedAt: number
  /** Calls received, all or of one method, in order. */
  readonly calls: (method?: string) => Effect.Effect<ReadonlyArray<FakeCall>>
  /** Queues replies for a method; they are used in order, then the default answer applies again. */
  readonly script: (method: string, ...replies: ReadonlyArray<FakeReply>) => Effect.Effect<void>
  /** Adds updates (objects, or raw JSON texts) to the getUpdates queue, which Telegram keeps in update_id order. */
  readonly pushUpdates: (...updates: ReadonlyArray<unknown>) => Effect.Effect<void>
  /** Completes once at least `count` calls of `method` were received; returns them. */
  readonly waitForCalls: (method: string, count: number) => Effect.Effect<ReadonlyArray<FakeCall>>
  /** Requests the client gave up before an answer was written (aborted). */
  readonly aborted: Effect.Effect<number>
  /** The webhook URL Telegram would post to ("" when none). */
  readonly webhookUrl: Effect.Effect<string>
  /** Texts sent with sendMessage, in order, optionally to one chat. */
  readonly sentTexts: (chatId?: number) => Effect.Effect<ReadonlyArray<string>>
  /** Calls answered with success by the default answer (what a user would actually see), in order. */
  readonly delivered: (method?: string) => Effect.Effect<ReadonlyArray<FakeCall>>
  /** How many calls the fault plan answered, by the kind of fault. */
  readonly faults: Effect.Effect<Readonly<Record<string, number>>>
  /** Makes a file available under `fileId` (getFile and its download). */
  readonly addFile: (fileId: string, file: FakeFile) => Effect.Effect<void>
  /** The URLs of file downloads received (token included, as sent), in order. */
  readonly downloads: Effect.Effect<ReadonlyArray<string>>
  /** Forgets the calls, deliveries, fault counts and downloads received so far (a warm-up). */
  readonly reset: Effect.Effect<void>
}

const parseParams = Schema.decodeUnknownEither(
  Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))
)

const conflict = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"

const faultKind = (reply: FakeReply): string =>
  "reset" in reply ? "reset" : "hang" in reply ? "hang" : "delayMs" in reply ? "delay" : "until" in reply ? "held" : "error" in reply ? String(reply.error) : "status" in reply ? String(reply.status) : "result"

export const makeFakeBotApi = (
  options: {
    readonly token?: string
    readonly faultPlan?: FaultPlan
    /** Answers every sendMessageDraft with this error code and "method not found" (a server before Bot API 9.3). */
    readonly refuseDrafts?: 400 | 404
    /**
     * The rich message methods (and rich edits): accepted, or answered with this error code and
     * "method not found" (a server before Bot API 10.1; the default, 404).
     */
    readonly richMessages?: "accepted" | 400 | 404
    /** Every default answer is written after this many milliseconds (the round trip to the real Bot API). */
    readonly latencyMs?: number
  } = {}
): Effect.Effect<FakeBotApi, never, Scope.Scope> =>
  Effect.gen(function*() {
    const token = options.token ?? "123456789:AAH-fakeTokenForTests_0123456789abc"
    const started = performance.now()
    const refuseRich = options.richMessages === "accepted" ? undefined : options.richMessages ?? 404
    const calls: Array<FakeCall> = []
    /** How many calls of each method were received (waiters check it before filtering the calls). */
    const counts = new Map<string, number>()
    const scripts = new Map<string, Array<FakeReply>>()
    let pending: Array<{ readonly id: number; readonly raw: string }> = []
    const updateWaiters: Array<() => void> = []
    const callWaiters: Array<() => void> = []
    let aborted = 0
    let webhookUrl = ""
    let nextMessageId = 1
    const delivered: Array<FakeCall> = []
    const faultCounts: Record<string, number> = {}
    const files = new Map<string, FakeFile & { readonly path: string }>()
    const downloads: Array<string> = []

    /** Calls each waiter once; a waiter may add itself again. */
    const wakeAll = (waiters: Array<() => void>) => {
      for (const waiter of waiters.splice(0)) waiter()
    }

    const send = (res: Http.ServerResponse, status: number, body: string, contentType = "application/json") => {
      if (res.writableEnded || res.destroyed) return
      res.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) })
      res.end(body)
    }
    const sendJson = (res: Http.ServerResponse, status: number, value: unknown) => send(res, status, JSON.stringify(value))
    const sendOk = (res: Http.ServerResponse, result: unknown) => sendJson(res, 200, { ok: true, result })
    const sendError = (res: Http.ServerResponse, code: number, description: string, parameters?: Record<string, number>) =>
      sendJson(res, code, { ok: false, error_code: code, description, ...(parameters ? { parameters } : {}) })

    const reply = (res: Http.ServerResponse, scripted: FakeReply): void => {
      if ("hang" in scripted) return
      if ("reset" in scripted) {
        res.socket?.destroy()
        return
      }
      if ("delayMs" in scripted) {
        const timer = setTimeout(() => reply(res, scripted.then), scripted.delayMs)
        res.on("close", () => clearTimeout(timer))
        return
      }
      if ("until" in scripted) {
        void scripted.until.then(() => reply(res, scripted.then))
        return
      }
      if ("result" in scripted) return sendOk(res, scripted.result)
      if ("error" in scripted) {
        const parameters: Record<string, number> = {}
        if (scripted.retryAfter !== undefined) parameters["retry_after"] = scripted.retryAfter
        if (scripted.migrateToChatId !== undefined) parameters["migrate_to_chat_id"] = scripted.migrateToChatId
        return sendError(res, scripted.error, scripted.description, Object.keys(parameters).length > 0 ? parameters : undefined)
      }
      return send(res, scripted.status, scripted.body, scripted.contentType ?? "text/html")
    }

    const num = (value: unknown): number | undefined => (typeof value === "number" ? value : undefined)
    const asRecord = (value: unknown): Record<string, unknown> | undefined =>
      typeof value === "object" && value !== null ? (value as Record<string, unknown>) : undefined
    /** A method this server does not have, as an older Bot API server answers it. */
    const refuse = (res: Http.ServerResponse, code: 400 | 404) =>
      sendError(res, code, `${code === 404 ? "Not Found" : "Bad Request"}: method not found`)

    const getUpdates = (params: Record<string, unknown>, res: Http.ServerResponse) => {
      if (webhookUrl !== "") return sendError(res, 409, conflict)
      const offset = num(params["offset"])
      if (offset !== undefined) pending = pending.filter((u) => u.id >= offset) // confirmed
      const limit = num(params["limit"]) ?? 100
      const answer = () => {
        const batch = pending.slice(0, limit)
        send(res, 200, `{"ok":true,"result":[${batch.map((u) => u.raw).join(",")}]}`)
      }
      if (pending.length > 0) return answer()
      const timeoutSeconds = num(params["timeout"]) ?? 0
      if (timeoutSeconds <= 0) return answer()
      let done = false
      const finish = () => {
        if (done) return
        done = true
        clearTimeout(timer)
        answer()
      }
      const timer = setTimeout(finish, timeoutSeconds * 1000)
      updateWaiters.push(finish)
      res.on("close", () => {
        done = true
        clearTimeout(timer)
      })
    }

    const defaultAnswer = (method: string, params: Record<string, unknown>, res: Http.ServerResponse) => {
      switch (method) {
        case "getMe":
          return sendOk(res, { id: 123456789, is_bot: true, first_name: "Fake", username: "fake_bot" })
        case "sendMessage":
          return sendOk(res, {
            message_id: nextMessageId++,
            date: Math.floor(Date.now() / 1000),
            chat: { id: params["chat_id"], type: "private" },
            text: params["text"]
          })
        case "sendMessageDraft":
          if (options.refuseDrafts !== undefined) return refuse(res, options.refuseDrafts)
          return sendOk(res, true)
        case "sendRichMessage":
        case "sendRichMessageDraft":
          if (refuseRich !== undefined) return refuse(res, refuseRich)
          if (method === "sendRichMessageDraft") return sendOk(res, true)
          return sendOk(res, {
            message_id: nextMessageId++,
            date: Math.floor(Date.now() / 1000),
            chat: { id: params["chat_id"], type: "private" },
            // What Telegram makes of the Markdown: blocks (one paragraph of the source here).
            rich_message: { blocks: [{ type: "paragraph", text: String(asRecord(params["rich_message"])?.["markdown"] ?? "") }] }
          })
        case "editMessageText":
          if (params["rich_message"] !== undefined && refuseRich !== undefined) return refuse(res, refuseRich)
          // An inline message (sent via the bot, or a guest answer) is edited by its id: Telegram answers true.
          if (params["inline_message_id"] !== undefined) return sendOk(res, true)
          return sendOk(res, {
            message_id: params["message_id"],
            date: Math.floor(Date.now() / 1000),
            edit_date: Math.floor(Date.now() / 1000),
            chat: { id: params["chat_id"], type: "private" },
            text: params["text"]
          })
        case "sendChatAction":
        case "answerCallbackQuery":
        case "closeForumTopic":
        case "setMyCommands":
        case "setMessageReaction":
          return sendOk(res, true)
        case "createForumTopic":
          // A topic's thread id is the id of the service message that created it.
          return sendOk(res, { message_thread_id: nextMessageId++, name: params["name"], icon_color: 7322096 })
        case "copyMessage":
          return sendOk(res, { message_id: nextMessageId++ })
        case "answerGuestQuery":
          // A `SentGuestMessage`: the id of the inline message posted in the guest chat.
          return sendOk(res, { inline_message_id: `guest-${nextMessageId++}` })
        case "answerInlineQuery":
          return sendOk(res, true)
        case "getUpdates":
          return getUpdates(params, res)
        case "setWebhook":
          webhookUrl = typeof params["url"] === "string" ? params["url"] : ""
          return sendOk(res, true)
        case "deleteWebhook":
          webhookUrl = ""
          if (params["drop_pending_updates"] === true) pending = []
          return sendOk(res, true)
        case "getWebhookInfo":
          return sendOk(res, { url: webhookUrl, has_custom_certificate: false, pending_update_count: pending.length })
        case "getFile": {
          const fileId = typeof params["file_id"] === "string" ? params["file_id"] : ""
          const file = files.get(fileId)
          if (file === undefined) return sendError(res, 400, "Bad Request: invalid file_id")
          const size = file.size === undefined ? file.bytes.length : file.size
          return sendOk(res, {
            file_id: fileId,
            file_unique_id: `unique-${fileId}`,
            ...(size === null ? {} : { file_size: size }),
            file_path: file.path
          })
        }
        default:
          return sendError(res, 404, "Not Found: method not found")
      }
    }

    /** `GET /file/bot<token>/<file_path>`: the file's bytes, as the Bot API's file endpoint serves them. */
    const serveFile = (req: Http.IncomingMessage, res: Http.ServerResponse, fileToken: string, path: string) => {
      downloads.push(req.url ?? "")
      if (fileToken !== token) return send(res, 401, "Unauthorized", "text/plain")
      const file = [...files.values()].find((f) => f.path === decodeURI(path))
      if (file === undefined) return send(res, 404, "Not Found", "text/plain")
      if (file.download !== undefined) return reply(res, file.download)
      if (file.chunked !== true) {
        res.writeHead(200, { "content-type": "application/octet-stream", "content-length": file.bytes.length })
        return res.end(Buffer.from(file.bytes))
      }
      res.writeHead(200, { "content-type": "application/octet-stream" })
      const step = 64 * 1024
      for (let offset = 0; offset < file.bytes.length; offset += step) res.write(file.bytes.subarray(offset, offset + step))
      res.end()
    }

    const server = Http.createServer((req, res) => {
      const fileMatch = /^\/file\/bot([^/]+)\/(.+)$/.exec(req.url ?? "")
      if (req.method === "GET" && fileMatch !== null) return serveFile(req, res, fileMatch[1] ?? "", fileMatch[2] ?? "")
      const chunks: Array<Buffer> = []
      req.on("data", (chunk: Buffer) => chunks.push(chunk))
      req.on("end", () => {
        res.on("close", () => {
          if (!res.writableEnded) aborted++
        })
        const match = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(req.url ?? "")
        if (match === null) return sendError(res, 404, "Not Found")
        const [, callToken = "", method = ""] = match
        const text = Buffer.concat(chunks).toString("utf8")
        const parsed = text === "" ? Either.right({}) : parseParams(text)
        if (Either.isLeft(parsed)) return sendError(res, 400, "Bad Request: invalid JSON")
        const params = parsed.right
        const call: FakeCall = { method, params, token: callToken, at: performance.now() - started }
        calls.push(call)
        counts.set(method, (counts.get(method) ?? 0) + 1)
        wakeAll(callWaiters)
        if (callToken !== token) return sendError(res, 401, "Unauthorized")
        const fault = options.faultPlan?.(call)
        if (fault !== undefined) {
          const kind = faultKind(fault)
          faultCounts[kind] = (faultCounts[kind] ?? 0) + 1
          return reply(res, fault)
        }
        const scripted = scripts.get(method)?.shift()
        if (scripted !== undefined) return reply(res, scripted)
        const refused = refuseRich !== undefined && (method === "sendRichMessage" || call.params["rich_message"] !== undefined)
        if (!refused && (method === "sendMessage" || method === "sendRichMessage" || method === "editMessageText" || method === "copyMessage" || method === "answerGuestQuery")) {
          delivered.push(call)
        }
        if (options.latencyMs === undefined || options.latencyMs <= 0) return defaultAnswer(method, params, res)
        const timer = setTimeout(() => defaultAnswer(method, params, res), options.latencyMs)
        res.on("close", () => clearTimeout(timer))
      })
    })

    const port = yield* Effect.acquireRelease(
      Effect.async<number>((resume) => {
        server.listen(0, "127.0.0.1", () => resume(Effect.succeed((server.address() as AddressInfo).port)))
      }),
      () =>
        Effect.async<void>((resume) => {
          wakeAll(updateWaiters)
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )

    const select = (method?: string) => (method === undefined ? [...calls] : calls.filter((c) => c.method === method))

    return {
      url: `http://127.0.0.1:${port}`,
      token,
      startedAt: started,
      calls: (method) => Effect.sync(() => select(method)),
      script: (method, ...replies) =>
        Effect.sync(() => {
          scripts.set(method, [...(scripts.get(method) ?? []), ...replies])
        }),
      pushUpdates: (...updates) =>
        Effect.sync(() => {
          for (const update of updates) {
            const raw = typeof update === "string" ? update : JSON.stringify(update)
            const idMatch = /"update_id"\s*:\s*(-?\d+)/.exec(raw)
            const id = idMatch?.[1] === undefined ? Number.MAX_SAFE_INTEGER : Number(idMatch[1])
            // Telegram hands updates out in update_id order, whatever order they were pushed in.
            const at = pending.findIndex((u) => u.id > id)
            pending.splice(at === -1 ? pending.length : at, 0, { id, raw })
          }
          wakeAll(updateWaiters)
        }),
      waitForCalls: (method, count) =>
        Effect.async<ReadonlyArray<FakeCall>>((resume) => {
          const check = () => {
            if ((counts.get(method) ?? 0) < count) return false
            resume(Effect.succeed(select(method)))
            return true
          }
          if (check()) return
          const waiter = () => {
            if (!check()) callWaiters.push(waiter)
          }
          callWaiters.push(waiter)
          return Effect.sync(() => {
            if (callWaiters.includes(waiter)) callWaiters.splice(callWaiters.indexOf(waiter), 1)
          })
        }),
      aborted: Effect.sync(() => aborted),
      webhookUrl: Effect.sync(() => webhookUrl),
      sentTexts: (chatId) =>
        Effect.sync(() =>
          select("sendMessage")
            .filter((c) => chatId === undefined || c.params["chat_id"] === chatId)
            .map((c) => String(c.params["text"]))
        ),
      delivered: (method) => Effect.sync(() => delivered.filter((c) => method === undefined || c.method === method)),
      faults: Effect.sync(() => ({ ...faultCounts })),
      addFile: (fileId, file) =>
        Effect.sync(() => {
          files.set(fileId, { ...file, path: file.path ?? `documents/file_${files.size}` })
        }),
      downloads: Effect.sync(() => [...downloads]),
      reset: Effect.sync(() => {
        calls.length = 0
        counts.clear()
        delivered.length = 0
        downloads.length = 0
        for (const kind of Object.keys(faultCounts)) delete faultCounts[kind]
      })
    } satisfies FakeBotApi
  })

/** A layer of the real Bot API client against a fake (tests that build the whole bot). */
export const telegramLayerFor = (fake: FakeBotApi, overrides: Partial<Omit<TelegramConfigShape, "token">> = {}) =>
  TelegramApiHttp.pipe(Layer.provide(TelegramConfig.forToken(fake.token, { apiBaseUrl: fake.url, ...overrides })))

/** The real HTTP client of the Bot API pointed at a fake, built in the current scope. */
export const telegramApiFor = (fake: FakeBotApi, overrides: Partial<Omit<TelegramConfigShape, "token">> = {}) =>
  Effect.map(Layer.build(telegramLayerFor(fake, overrides)), (context) => Context.get(context, TelegramApi))
