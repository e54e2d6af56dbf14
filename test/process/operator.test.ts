import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { settingsReference } from "../../src/config.ts"
import { eventually, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { exitCode, processStart, runBin, startBot } from "../support/BotProcess.ts"
import { serveEnvironment, takenPort } from "./processes.ts"

const get = (port: number, path: string) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status))

describe("operator details", () => {
  it.scopedLive("with METRICS_PORT, /metrics is served there only; every log line has one format", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      // A port that was free a moment ago: released before the bot starts.
      const metricsPort = yield* Effect.scoped(takenPort)
      const bot = yield* startBot(["serve"], serveEnvironment(fake, {
        WEBHOOK_SECRET: "s3cret",
        METRICS_HOST: "127.0.0.1",
        METRICS_PORT: String(metricsPort)
      }))
      const port = yield* eventually(
        Effect.sync(() => /webhook server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(bot.stderr())?.[1]),
        (found) => found !== undefined,
        processStart
      ).pipe(Effect.map(Number))
      expect(yield* get(metricsPort, "/metrics")).toBe(200)
      expect(yield* get(port, "/metrics")).toBe(404)
      expect(yield* get(port, "/healthz")).toBe(200)
      bot.child.kill("SIGTERM")
      expect(yield* exitCode(bot.child)).toBe(0)
      expect(bot.stderr()).toMatch(new RegExp(`INFO \\(#\\d+\\): Listening on http://127\\.0\\.0\\.1:${metricsPort}`))
      expect(bot.stderr()).not.toMatch(/timestamp=/)
      expect(bot.stderr()).toContain("stopped: 0 updates drained, 0 left pending")
    }), 60_000)

  it.scopedLive("with LOG_FORMAT=json every line on stderr is JSON, banners and the stop report too; no trace_id without tracing", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const bot = yield* startBot(["serve"], serveEnvironment(fake, { WEBHOOK_SECRET: "s3cret", LOG_FORMAT: "json" }))
      const messages = () =>
        bot.stderr().split("\n").filter((line) => line !== "").map((line) => JSON.parse(line) as { readonly message: unknown })
      const port = yield* eventually(
        Effect.sync(() => /webhook server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(bot.stderr())?.[1]),
        (found) => found !== undefined,
        processStart
      ).pipe(Effect.map(Number))
      yield* eventually(Effect.sync(() => bot.stderr()), (text) => text.includes("bot: @"), processStart)
      const update = { update_id: 5, message: { message_id: 1, date: 0, chat: { id: 11, type: "private" }, from: { id: 11, is_bot: false, first_name: "Ann" }, text: "hi" } }
      expect(yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "s3cret" },
          body: JSON.stringify(update)
        }).then((r) => r.status)
      )).toBe(200)
      yield* fake.waitForCalls("sendMessage", 1)
      bot.child.kill("SIGTERM")
      expect(yield* exitCode(bot.child)).toBe(0)
      const texts = messages().map((line) => String(line.message))
      expect(texts).toEqual(expect.arrayContaining([
        expect.stringMatching(/^model: /),
        expect.stringMatching(/^webhook server on 127\.0\.0\.1:/),
        expect.stringMatching(/^bot: @/),
        // The update may still be finishing (its entry marked done) when the signal comes, or be done.
        expect.stringMatching(/^stopped: (1 update|0 updates) drained, 0 left pending$/)
      ]))
      expect(bot.stderr()).not.toContain("trace_id")
    }), 60_000)

  it.scopedLive("--help: the whole usage line and the variables a command reads", () =>
    Effect.gen(function*() {
      const help = yield* runBin(["webhook", "set", "--help"], { NO_COLOR: "1" })
      expect(help.code).toBe(0)
      const text = help.stdout.replace(/\x1b\[[0-9;]*m/g, "")
      expect(text).toContain("\n$ dialog-bot webhook set\n")
      // The description is wrapped at 100 columns: read as one paragraph.
      const flowing = text.replace(/\s+/g, " ")
      expect(flowing).toContain("Reads TELEGRAM_BOT_TOKEN, TELEGRAM_API_BASE_URL, WEBHOOK_URL, WEBHOOK_SECRET")
      expect(flowing).toContain(`every setting is described in ${settingsReference}`)
      const migrate = yield* runBin(["migrate", "--help"], { NO_COLOR: "1" })
      expect(migrate.code).toBe(0)
      expect(migrate.stdout.replace(/\s+/g, " ")).toMatch(/Reads STORE, SQLITE_PATH, DATABASE_URL,/)
    }), 60_000)
})
