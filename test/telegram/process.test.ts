import { textMessage } from "../../src/testing/index.ts"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exitCode, processStart, startBot as startProcess } from "../support/BotProcess.ts"
import { eventually, type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

/** `npm start` as a real process (the compiled bin), against the fake Bot API, killed at the end of the scope. */
const startBot = (fake: FakeBotApi, env: Record<string, string>, args: ReadonlyArray<string> = []) =>
  startProcess(args, {
    TELEGRAM_BOT_TOKEN: fake.token,
    TELEGRAM_API_BASE_URL: fake.url,
    STORE: "memory",
    TELEGRAM_POLL_TIMEOUT: "1",
    LOG_LEVEL: "info",
    ...env
  })

/** A private "hello" from user `chatId`, as Telegram sends it. */
const hello = (updateId: number, chatId: number) => textMessage({ updateId, chatId, userId: chatId, firstName: "Ann", text: "hello" })

describe("npm start with TELEGRAM_BOT_TOKEN", () => {
  it.scopedLive("polls, answers, and exits 0 on SIGTERM; the token is never printed", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const bot = yield* startBot(fake, {})
      yield* fake.waitForCalls("getUpdates", 1)
      yield* fake.pushUpdates(hello(5, 9))
      yield* fake.waitForCalls("sendMessage", 1)
      bot.child.kill("SIGTERM")
      expect(yield* exitCode(bot.child)).toBe(0)
      expect(bot.output()).toContain("bot: @fake_bot")
      // No model is configured here: the operator is told that users get the offline model.
      expect(bot.output()).toContain(
        "warning: no language model is configured (OPENAI_API_KEY or OPENAI_BASE_URL): users get the built-in offline model's rule-based answers"
      )
      expect(bot.output()).not.toContain(fake.token)
      expect((yield* fake.calls("getMe")).length).toBe(1)
    }), 60_000)

  it.scopedLive("runs the webhook server when WEBHOOK_URL is set, registers it, and exits 0 on SIGINT", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const secret = "process-test-secret"
      const bot = yield* startBot(fake, {
        WEBHOOK_URL: "https://bot.example.com/telegram/webhook",
        WEBHOOK_SECRET: secret,
        HOST: "127.0.0.1",
        PORT: "0"
      })
      const listening = yield* eventually(
        Effect.sync(() => /listening on (http:\/\/[^\s/]+)\/telegram\/webhook/.exec(bot.output())?.[1]),
        (base) => base !== undefined,
        processStart
      )
      // The server listens first; the webhook is registered once Telegram has answered getMe.
      yield* eventually(fake.webhookUrl, (url) => url === "https://bot.example.com/telegram/webhook", "10 seconds")
      expect((yield* fake.calls("setWebhook"))[0]?.params["secret_token"]).toBe(secret)
      const status = yield* Effect.promise(() =>
        fetch(`${listening}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret },
          body: JSON.stringify(hello(7, 11))
        }).then((r) => r.status)
      )
      expect(status).toBe(200)
      yield* fake.waitForCalls("sendMessage", 1)
      bot.child.kill("SIGINT")
      expect(yield* exitCode(bot.child)).toBe(0)
      expect(bot.output()).not.toContain(fake.token)
      expect(bot.output()).not.toContain(secret)
    }), 60_000)

  it.scopedLive("serve with the Bot API down listens and records updates, then answers them once the API is back", () =>
    Effect.gen(function*() {
      // Every call is refused at the connection until the API comes back.
      let down = true
      const fake = yield* makeFakeBotApi({ faultPlan: () => (down ? { reset: true } : undefined) })
      const secret = "process-test-secret"
      const bot = yield* startBot(fake, { WEBHOOK_SECRET: secret, HOST: "127.0.0.1", PORT: "0" }, ["serve"])
      const listening = yield* eventually(
        Effect.sync(() => /listening on (http:\/\/[^\s/]+)\/telegram\/webhook/.exec(bot.output())?.[1]),
        (base) => base !== undefined,
        processStart
      )
      // getMe is asked again and again; each failure says what and why.
      // (The second comes 1 s after the first; the wait leaves room for a loaded machine.)
      yield* eventually(fake.calls("getMe"), (calls) => calls.length >= 2, "10 seconds")
      expect(bot.output()).toMatch(/Telegram does not answer \(getMe\): request to 127\.0\.0\.1:\d+ failed: .*; trying again/)
      const status = yield* Effect.promise(() =>
        fetch(`${listening}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "X-Telegram-Bot-Api-Secret-Token": secret },
          body: JSON.stringify(hello(9, 13))
        }).then((r) => r.status)
      )
      expect(status).toBe(200)
      expect(yield* fake.delivered("sendMessage")).toHaveLength(0)
      down = false
      yield* eventually(fake.delivered("sendMessage"), (sent) => sent.length === 1, "20 seconds")
      // getMe is asked again after its backoff (1 s, doubling, at most 30 s).
      yield* eventually(Effect.sync(() => bot.output().includes("bot: @fake_bot")), (seen) => seen, "20 seconds")
      bot.child.kill("SIGTERM")
      expect(yield* exitCode(bot.child)).toBe(0)
      expect(bot.output()).not.toContain(fake.token)
    }), 60_000)
})
