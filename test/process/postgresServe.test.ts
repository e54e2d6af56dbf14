/**
 * `serve` on PostgreSQL as a real process, alone and as a cluster replica: its stderr holds no
 * warning of the pg driver (a query issued on a connection while another runs there is
 * deprecated in pg 8 and an error in pg 9).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { textMessage } from "../../src/testing/index.ts"
import { exitCode, freePort, processStart, startBot } from "../support/BotProcess.ts"
import { eventually, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { serveEnvironment } from "./processes.ts"

const server = await postgresForTests("serve_warnings")
const url = server._tag === "Ready" ? server.url : ""

/** `serve` on the file's database, alone or as a replica; updates from `firstId` on (the two share the inbox). */
const serveOnPostgres = (cluster: boolean, firstId: number) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const bot = yield* startBot(["serve"], serveEnvironment(fake, {
      WEBHOOK_SECRET: "s3cret",
      STORE: "postgres",
      DATABASE_URL: url,
      LOG_LEVEL: "info",
      ...(cluster ? { CLUSTER: "true", RUNNER_HOST: "127.0.0.1", RUNNER_PORT: String(yield* freePort), FLOOD_BURST: "100" } : {})
    }))
    const port = yield* eventually(
      Effect.sync(() => /webhook server listening on http:\/\/127\.0\.0\.1:(\d+)/.exec(bot.stderr())?.[1]),
      (found) => found !== undefined,
      processStart
    ).pipe(Effect.map(Number))
    const post = (updateId: number, chatId: number) =>
      Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": "s3cret" },
          body: JSON.stringify(textMessage({ updateId, chatId, userId: chatId, firstName: "Ann", text: "hello" }))
        }).then((r) => r.status)
      )
    // Several chats at once: the store and (in a cluster) the shard locks busy together.
    const statuses = yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) => post(firstId + i, 9_100 + i), { concurrency: "unbounded" })
    expect(statuses).toEqual([200, 200, 200, 200, 200, 200])
    yield* fake.waitForCalls("sendMessage", 6)
    bot.child.kill("SIGTERM")
    expect(yield* exitCode(bot.child)).toBe(0)
    return bot.stderr()
  })

describe.skipIf(server._tag !== "Ready")(whenReady(server, "serve on PostgreSQL"), () => {
  it.scopedLive("alone: no driver warning on stderr", () =>
    Effect.gen(function*() {
      const stderr = yield* serveOnPostgres(false, 100)
      expect(stderr).not.toMatch(/DeprecationWarning|Warning:/)
    }), 90_000)

  it.scopedLive("as a cluster replica: no driver warning on stderr", () =>
    Effect.gen(function*() {
      const stderr = yield* serveOnPostgres(true, 200)
      expect(stderr).not.toMatch(/DeprecationWarning|Warning:/)
    }), 120_000)
})
