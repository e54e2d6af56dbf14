import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { settingsReference } from "../../src/config.ts"
import { eventually, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { exitCode, processStart, runBin, startBot } from "../support/BotProcess.ts"
import { takenPort } from "./processes.ts"

const get = (port: number, path: string) =>
  Effect.promise(() => fetch(`http://127.0.0.1:${port}${path}`).then((r) => r.status))

describe("operator details", () => {
  it.scopedLive("with METRICS_PORT, /metrics is served there only; every log line has one format", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      // A port that was free a moment ago: released before the bot starts.
      const metricsPort = yield* Effect.scoped(takenPort)
      const bot = yield* startBot(["serve"], {
        TELEGRAM_BOT_TOKEN: fake.token,
        TELEGRAM_API_BASE_URL: fake.url,
        WEBHOOK_SECRET: "s3cret",
        STORE: "memory",
        HOST: "127.0.0.1",
        PORT: "0",
        METRICS_HOST: "127.0.0.1",
        METRICS_PORT: String(metricsPort),
        LOG_LEVEL: "info"
      })
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
    }), 60_000)
})
