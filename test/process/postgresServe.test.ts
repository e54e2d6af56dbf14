/**
 * `serve` on PostgreSQL as a real process, alone and as a cluster replica: its stderr holds no
 * warning of the pg driver (a query issued on a connection while another runs there is
 * deprecated in pg 8 and an error in pg 9). Alone, with the throwaway server stopped for 4 s:
 * `/readyz` answers 503 while the store is unreachable and 200 once it is back, on the webhook
 * port and on `METRICS_PORT` alike.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { textMessage } from "../../src/testing/index.ts"
import { exitCode, freePort, processStart, startBot } from "../support/BotProcess.ts"
import { eventually, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { postgresForTests, stoppablePostgresForTests, whenReady } from "../support/Postgres.ts"
import { listeningPort, readyz, serveEnvironment, takenPort } from "./processes.ts"

const server = await postgresForTests("serve_warnings")
const url = server._tag === "Ready" ? server.url : ""
/** The readiness scenario stops its server: a throwaway server of the file's own, `TEST_DATABASE_URL` or not. */
const stoppable = await stoppablePostgresForTests("serve_readiness")

/** How long the store is away in the readiness scenario. */
const outageMs = 4_000

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
    const port = yield* listeningPort(bot)
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

  it.scopedLive.skipIf(stoppable._tag !== "Ready")(
    "alone, the database stopped for 4 s: /readyz 503 while it is away, 200 once it is back, on both ports",
    () =>
      Effect.gen(function*() {
        if (stoppable._tag !== "Ready") return
        const fake = yield* makeFakeBotApi()
        const metricsPort = yield* Effect.scoped(takenPort)
        const bot = yield* startBot(["serve"], serveEnvironment(fake, {
          WEBHOOK_SECRET: "s3cret",
          STORE: "postgres",
          DATABASE_URL: stoppable.url,
          METRICS_HOST: "127.0.0.1",
          METRICS_PORT: String(metricsPort)
        }))
        const port = yield* listeningPort(bot)
        const ready = { status: 200, body: { status: "ready", store: "ok", draining: false } }
        expect(yield* eventually(readyz(port), (a) => a.status === 200, processStart)).toEqual(ready)
        expect(yield* eventually(readyz(metricsPort), (a) => a.status === 200, processStart)).toEqual(ready)

        const stoppedAt = Date.now()
        const away = yield* Effect.fork(Effect.promise(() => stoppable.outage(outageMs)))
        const notReady = (a: { readonly status: number }) => a.status === 503
        const down = yield* eventually(readyz(port), notReady, outageMs)
        const downOnMetrics = yield* eventually(readyz(metricsPort), notReady, outageMs)
        const seenDownMs = Date.now() - stoppedAt
        const failing = { status: "not_ready", store: expect.stringMatching(/^failing: /), draining: false }
        expect(down.body).toEqual(failing)
        expect(downOnMetrics.body).toEqual(failing)
        yield* Fiber.join(away)
        const backAt = Date.now()
        expect(yield* eventually(readyz(port), (a) => a.status === 200, processStart)).toEqual(ready)
        expect(yield* eventually(readyz(metricsPort), (a) => a.status === 200, processStart)).toEqual(ready)
        yield* Effect.logWarning(
          `/readyz through a ${outageMs} ms store outage: 503 ${JSON.stringify(down.body)} seen ${seenDownMs} ms after the stop, 200 again ${Date.now() - backAt} ms after the server was back`
        )
        bot.child.kill("SIGTERM")
        expect(yield* exitCode(bot.child)).toBe(0)
      }),
    90_000
  )
})
