import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import Database from "better-sqlite3"
import { textMessage } from "../../src/testing/index.ts"
import { Effect } from "effect"
import { eventually, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { bin, exitCode, groupAlive, processStart, start } from "../support/BotProcess.ts"
import { connectionRefused, listeningPort, readyz, serveEnvironment, takenPort } from "./processes.ts"

/** A private "hello" from user `chatId`, as Telegram sends it. */
const hello = (updateId: number, chatId: number) => textMessage({ updateId, chatId, userId: chatId, firstName: "Ann", text: "hello" })

const post = (port: number, body: unknown) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body)
    }).then((r) => r.status)
  )

/** `serve` as `command args` against a fake Bot API; SIGTERM to the process started (the wrapper). */
const serveThenTerminate = (command: string, args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const bot = yield* start(command, args, serveEnvironment(fake, { WEBHOOK_ALLOW_NO_SECRET: "true" }))
    const port = yield* listeningPort(bot)
    // A reply that takes a while: the update is still in flight when the signal comes.
    yield* fake.script("sendMessage", { delayMs: 1_000, then: { result: { message_id: 1, date: 0, chat: { id: 11, type: "private" } } } })
    expect(yield* post(port, hello(7, 11))).toBe(200)
    yield* fake.waitForCalls("sendMessage", 1)
    bot.child.kill("SIGTERM")
    expect(yield* exitCode(bot.child)).toBe(0)
    expect(yield* connectionRefused(port)).toBe(true)
    expect(groupAlive(bot.child)).toBe(false)
    expect(bot.stderr()).toContain("stopped: 1 update drained, 0 left pending")
    expect(yield* fake.calls("sendMessage")).toHaveLength(1)
  })

/** Reads one number or the rows of a query from a SQLite file the bot has closed (or still holds: readers do not wait). */
const query = (path: string, sql: string): Array<unknown> => {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare(sql).all()
  } finally {
    db.close()
  }
}

const leaseHolders = (path: string) => query(path, "SELECT holder FROM instance_lease")
const pendingUpdates = (path: string) =>
  (query(path, "SELECT COUNT(*) AS n FROM inbox WHERE status = 'pending'")[0] as { readonly n: number }).n

describe("signals reach the bot", () => {
  it.scopedLive("node bin/dialog-bot.mjs serve: SIGTERM drains, exits 0, frees the port, leaves no process", () =>
    serveThenTerminate(process.execPath, [bin, "serve"]), 60_000)

  it.scopedLive("npm start -- serve: SIGTERM drains, exits 0, frees the port, leaves no process", () =>
    serveThenTerminate("npm", ["start", "--silent", "--", "serve"]), 60_000)

  it.scopedLive("serve: /readyz is 200, then 503 `draining` on the webhook port and METRICS_PORT while the dialog in flight finishes", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const metricsPort = yield* Effect.scoped(takenPort)
      const bot = yield* start(process.execPath, [bin, "serve"], serveEnvironment(fake, {
        WEBHOOK_ALLOW_NO_SECRET: "true",
        METRICS_HOST: "127.0.0.1",
        METRICS_PORT: String(metricsPort)
      }))
      const port = yield* listeningPort(bot)
      const ready = { status: 200, body: { status: "ready", store: "ok", draining: false } }
      expect(yield* readyz(port)).toEqual(ready)
      expect(yield* readyz(metricsPort)).toEqual(ready)
      // The reply is held until the test has seen the drain.
      yield* fake.script("sendMessage", { delayMs: 3_000, then: { result: { message_id: 1, date: 0, chat: { id: 11, type: "private" } } } })
      expect(yield* post(port, hello(7, 11))).toBe(200)
      yield* fake.waitForCalls("sendMessage", 1)
      bot.child.kill("SIGTERM")
      const draining = { status: 503, body: { status: "not_ready", store: "ok", draining: true } }
      expect(yield* eventually(readyz(port), (answer) => answer.status === 503, processStart)).toEqual(draining)
      expect(yield* readyz(metricsPort)).toEqual(draining)
      expect(yield* post(port, hello(8, 11))).toBe(503)
      expect(yield* exitCode(bot.child)).toBe(0)
      expect(bot.stderr()).toContain("stopped: 1 update drained, 0 left pending")
      expect(yield* connectionRefused(port)).toBe(true)
      expect(yield* connectionRefused(metricsPort)).toBe(true)
    }), 60_000)

  it.scopedLive("serve on SQLite: a second SIGTERM during the drain does not cut it short; the lease is released", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const dir = yield* Effect.acquireRelease(
        Effect.sync(() => mkdtempSync(join(tmpdir(), "signals-"))),
        (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
      )
      const database = join(dir, "bot.sqlite")
      const bot = yield* start(process.execPath, [bin, "serve"], serveEnvironment(fake, {
        WEBHOOK_ALLOW_NO_SECRET: "true",
        STORE: "sqlite",
        SQLITE_PATH: database
      }))
      const port = yield* listeningPort(bot)
      expect(leaseHolders(database)).toHaveLength(1)
      yield* fake.script("sendMessage", { delayMs: 3_000, then: { result: { message_id: 1, date: 0, chat: { id: 11, type: "private" } } } })
      expect(yield* post(port, hello(7, 11))).toBe(200)
      yield* fake.waitForCalls("sendMessage", 1)
      bot.child.kill("SIGTERM")
      // Draining: then the second signal, as from Ctrl-C twice or a signal to the process group.
      yield* eventually(readyz(port), (answer) => answer.status === 503, processStart)
      bot.child.kill("SIGTERM")
      expect(yield* exitCode(bot.child)).toBe(0)
      expect(bot.stderr()).toContain("SIGTERM again: still stopping")
      expect(bot.stderr()).toContain("stopped: 1 update drained, 0 left pending")
      expect(leaseHolders(database)).toEqual([])
      expect(pendingUpdates(database)).toBe(0)
    }), 60_000)
})
