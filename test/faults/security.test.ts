/**
 * Security checks through the whole bot: the webhook refuses requests without the secret and
 * records nothing; the bot token appears in no log line, error or metric, even when every Bot
 * API call fails (errors that echo the URL, HTML pages, resets, an unreachable server); and
 * user-controlled text full of SQL/YQL metacharacters, quotes, NUL and emoji goes through the
 * whole pipeline on SQLite into parameters only — the tables and the values come back intact.
 */
import { NodeContext } from "@effect/platform-node"
import { HttpServer } from "@effect/platform"
import { describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Cause, Context, Duration, Effect, Exit, HashMap, Layer, Logger, Option, Redacted, Scope } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { prometheusText } from "../../src/observability/Prometheus.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer, type Stores } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { WebhookConfig } from "../../src/telegram/TelegramConfig.ts"
import { WebhookServerLive } from "../../src/telegram/WebhookServer.ts"
import { defaultProfilePath, LanguageModelScripted, type Script } from "../../src/testing/index.ts"
import { type FakeBotApi, makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"

const secret = "security-suite-secret"

const startBot = (options: {
  readonly botApi: FakeBotApi
  readonly apiBaseUrl?: string
  readonly stores: Layer.Layer<Stores, unknown>
  readonly script: Script
}) =>
  Effect.gen(function*() {
    const bot = botLayer({
      telegram: telegramLayerFor(options.botApi, {
        requestTimeout: Duration.seconds(2),
        ...(options.apiBaseUrl === undefined ? {} : { apiBaseUrl: options.apiBaseUrl })
      }),
      model: LanguageModelScripted(options.script),
      stores: options.stores.pipe(Layer.orDie),
      profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
      dialogConfig: DialogConfig.make(),
      // A Bot API that keeps failing is waited out for a second, not the default two minutes.
      dispatcherConfig: DispatcherConfig.make({
        updateDeadline: Duration.seconds(10),
        outagePatience: Duration.seconds(1),
        maxConcurrentDialogs: 1
      }),
      sendConfig: SendConfig.make({ backoffBase: Duration.millis(1), maxRetries: 2, retryAfterCap: Duration.seconds(1) })
    })
    const server = WebhookServerLive().pipe(
      Layer.provideMerge(Layer.merge(bot, WebhookConfig.make({ secret: Option.some(Redacted.make(secret)), port: 0 })))
    )
    const scope = yield* Scope.make()
    const context = yield* Layer.buildWithScope(server, scope)
    const address = Context.get(context, HttpServer.HttpServer).address
    return {
      url: `http://127.0.0.1:${address._tag === "TcpAddress" ? address.port : 0}/telegram/webhook`,
      context,
      close: Scope.close(scope, Exit.void)
    }
  })

const post = (url: string, body: unknown, headers: Record<string, string>) =>
  Effect.promise(() =>
    fetch(url, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: JSON.stringify(body) })
      .then((r) => r.status)
  )

const textUpdate = (updateId: number, user: { id: number; first_name: string; last_name?: string; username?: string }, text: string) => ({
  update_id: updateId,
  message: { message_id: updateId, date: 1_764_300_000, chat: { id: user.id, type: "private" }, from: { ...user, is_bot: false }, text }
})

describe("security", () => {
  it.scopedLive("the webhook answers 401 without the secret or with a wrong one, and records nothing", () =>
    Effect.gen(function*() {
      const botApi = yield* makeFakeBotApi()
      const bot = yield* startBot({ botApi, stores: StoresMemory, script: {} })
      const inbox = Context.get(bot.context, Inbox)
      const update = textUpdate(31_337, { id: 5, first_name: "Eve" }, "let me in")
      const statuses = [
        yield* post(bot.url, update, {}),
        yield* post(bot.url, update, { "x-telegram-bot-api-secret-token": "wrong" }),
        yield* post(bot.url, update, { "x-telegram-bot-api-secret-token": `${secret}x` }),
        yield* post(bot.url, update, { "x-telegram-bot-api-secret-token": secret.slice(0, -1) }),
        yield* post(bot.url, update, { "x-telegram-bot-api-secret-token": "" })
      ]
      expect(statuses).toEqual([401, 401, 401, 401, 401])
      expect(Option.isNone(yield* inbox.entry(31_337 as TelegramId))).toBe(true)
      expect(yield* inbox.pendingCount).toBe(0)
      expect(yield* inbox.lastUpdateId).toBeUndefined()
      expect(yield* botApi.calls("sendMessage")).toHaveLength(0)
      yield* bot.close
    }))

  it.scopedLive("the token is in no log line, error or metric when every Bot API call fails", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const capture = Logger.make(({ annotations, cause, message }) => {
        lines.push(`${JSON.stringify(message)} ${Cause.pretty(cause)} ${JSON.stringify([...HashMap.toEntries(annotations)])}`)
      })
      // The Bot API fails in every way it can, echoing the request URL (with the token) back.
      let n = 0
      const botApi: FakeBotApi = yield* makeFakeBotApi({
        faultPlan: (call) => {
          const url = `/bot${call.token}/${call.method}`
          switch (n++ % 4) {
            case 0:
              return { error: 404, description: `Not Found: POST ${url}` }
            case 1:
              return { status: 502, body: `<html>bad gateway for ${url}</html>` }
            case 2:
              return { error: 429, description: `Too Many Requests for ${url}`, retryAfter: 1 }
            default:
              return { reset: true }
          }
        }
      })
      const deadPort = yield* Effect.scoped(Effect.map(makeFakeBotApi(), (other) => other.url))
      const script: Script = { classify: ["general", "general"], think: ["", ""], synthesize: ["hello", "hello"] }
      const run = (apiBaseUrl?: string) =>
        Effect.gen(function*() {
          const bot = yield* startBot({ botApi, stores: StoresMemory, script, ...(apiBaseUrl === undefined ? {} : { apiBaseUrl }) })
          const dispatcher = Context.get(bot.context, Dispatcher)
          expect(yield* post(bot.url, textUpdate(41_000 + lines.length, { id: 6, first_name: "Ann" }, "hi"), {
            "x-telegram-bot-api-secret-token": secret
          })).toBe(200)
          yield* dispatcher.awaitIdle
          yield* bot.close
        }).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      yield* run()
      yield* run(deadPort)
      const metrics = yield* prometheusText
      const everything = [...lines, metrics].join("\n")
      expect(lines.some((l) => l.includes("apology not sent") || l.includes("send failed"))).toBe(true)
      expect(metrics).toContain("bot_telegram_api_errors_total")
      expect(everything).not.toContain(botApi.token)
      expect(everything).not.toContain(botApi.token.split(":")[1]!)
    }))

  it.scopedLive("SQL metacharacters, quotes, NUL and emoji in every user field go through the pipeline on SQLite as values", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "bot-injection-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const path = join(dir, "bot.sqlite")
      const hostile = [
        "'; DROP TABLE clients; --",
        "Robert'); DROP TABLE messages;--",
        "\" OR \"1\"=\"1",
        "x' UNION SELECT * FROM inbox --",
        "$1 ? :name @p %s \\' \\\" `",
        "DECLARE $x AS Utf8; DELETE FROM inbox;",
        "nul\u0000byte",
        "emoji 🙂👩‍👩‍👧 ✓ ﷽",
        "a\u202eb\ufeffc"
      ]
      const profile = { name: hostile[1]!, phone: "+1 (555) 010-0199", email: "o'hara@example.com", notes: hostile.join(" | ") }
      const script: Script = {
        classify: hostile.map(() => "general"),
        think: hostile.flatMap((_, i) => i === 0 ? [{ toolCalls: [{ name: "update_client_profile", arguments: profile }] }, ""] : [""]),
        synthesize: hostile.map((h) => `echo: ${h}`)
      }
      const botApi = yield* makeFakeBotApi()
      const bot = yield* startBot({ botApi, stores: StoresSqlite({ path, busyTimeout: Duration.seconds(5) }), script })
      const dispatcher = Context.get(bot.context, Dispatcher)
      const userId = 777_001
      const user = { id: userId, first_name: hostile[0]!, last_name: hostile[6]!, username: hostile[3]! }
      for (const [i, text] of hostile.entries()) {
        expect(yield* post(bot.url, textUpdate(51_000 + i, user, text), { "x-telegram-bot-api-secret-token": secret })).toBe(200)
      }
      yield* dispatcher.awaitIdle
      const clients = Context.get(bot.context, ClientStore)
      const history = Context.get(bot.context, HistoryStore)
      const inbox = Context.get(bot.context, Inbox)
      const client = Option.getOrThrow(yield* clients.get(userId as TelegramId))
      const messages = yield* history.lastN(userId as TelegramId, 100)
      const pending = yield* inbox.pendingCount
      yield* bot.close

      expect(client.firstName).toBe(hostile[0])
      expect(client.lastName).toBe(hostile[6])
      expect(client.username).toBe(hostile[3])
      expect(client.profile).toEqual(profile)
      expect(messages.filter((m) => m.role === "user").map((m) => m.text)).toEqual(hostile)
      expect(messages.filter((m) => m.role === "assistant").map((m) => m.text)).toEqual(hostile.map((h) => `echo: ${h}`))
      expect(pending).toBe(0)
      expect((yield* botApi.sentTexts(userId)).length).toBe(hostile.length)

      // The file itself: every table is still there, with exactly the rows the dialog wrote.
      const db = new Database(path, { readonly: true })
      try {
        const tables = (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as Array<{ name: string }>)
          .map((t) => t.name)
        expect(tables).toEqual(expect.arrayContaining(["clients", "inbox", "messages"]))
        const count = (table: string) => (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).all() as Array<{ n: number }>)[0]!.n
        expect(count("clients")).toBe(1)
        expect(count("messages")).toBe(hostile.length * 2)
        expect(count("inbox")).toBe(hostile.length)
      } finally {
        db.close()
      }
    }))
})
