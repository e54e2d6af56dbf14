/**
 * Crashes under load: the real `serve` command on SQLite is killed with SIGKILL at random
 * moments while updates arrive over its webhook, and started again on the same database each
 * time. The load generator repeats each update until it is acknowledged with 200, as Telegram
 * does. Afterwards every update has its reply, and a reply is sent twice only when a kill
 * landed between its request and its record: each chat's next message goes out only after the
 * previous one is recorded in the inbox, so a kill leaves at most one message in doubt per
 * chat with a dialog in flight (at most MAX_CONCURRENT_DIALOGS), and the re-run after the
 * restart skips every message recorded. No global cap is set (TELEGRAM_SENDS_IN_DOUBT=0, the
 * default); `CRASH_SENDS_IN_DOUBT=1` runs the suite with the cap of one.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exited, freePort, type Started, startBot, untilHealthy } from "../support/BotProcess.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"
import { type FakeCompletion, makeFakeOpenAi } from "../support/FakeOpenAi.ts"
import { deliverChats, seededRandom } from "./support.ts"

const full = process.env["FAULTS_FULL"] === "1"
const users = full ? 200 : 30
const perUser = 5
const kills = full ? 5 : 2
const secret = "crash-suite-secret"
const dialogsInFlight = 32
const globalCap = Number(process.env["CRASH_SENDS_IN_DOUBT"] ?? "0")

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const updatesOf = (user: number) =>
  Array.from({ length: perUser }, (_, i) => {
    const updateId = 7_000_000 + user * 10 + i
    return {
      update_id: updateId,
      message: {
        message_id: i + 1,
        from: { id: 80_000 + user, is_bot: false, first_name: `Crash${user}` },
        chat: { id: 80_000 + user, type: "private" },
        date: 1_764_300_000 + i,
        text: `question ${i} tok-${updateId}`
      }
    }
  })

describe("crash suite", () => {
  it.scopedLive(`${users * perUser} webhook updates, the serve process SIGKILLed ${kills} times`, () =>
    Effect.gen(function*() {
      const random = seededRandom(4242)
      const botApi = yield* makeFakeBotApi()
      const lastUser = (messages: ReadonlyArray<Record<string, unknown>>) =>
        String([...messages].reverse().find((m) => m["role"] === "user")?.["content"] ?? "")
      // A model with some latency, so that dialogs are in flight whenever a kill lands.
      const openAi = yield* makeFakeOpenAi({
        fallback: (request): FakeCompletion => ({ delayMs: 60 + Math.floor(random() * 120), then: `re: ${lastUser(request.messages)}` })
      })
      const dir = mkdtempSync(join(tmpdir(), "bot-crash-suite-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const port = yield* freePort
      const base = `http://127.0.0.1:${port}`
      // Every process started, in order; the last one is running.
      const processes: Array<Started> = []
      const output = () => processes.map((p) => p.output()).join("")
      const current = () => processes[processes.length - 1]!

      const start = Effect.gen(function*() {
        const started = yield* startBot(["serve"], {
          TELEGRAM_BOT_TOKEN: botApi.token,
          TELEGRAM_API_BASE_URL: botApi.url,
          OPENAI_API_KEY: "sk-crash-suite",
          OPENAI_BASE_URL: openAi.url,
          WEBHOOK_SECRET: secret,
          HOST: "127.0.0.1",
          PORT: String(port),
          STORE: "sqlite",
          SQLITE_PATH: join(dir, "bot.sqlite"),
          MAX_CONCURRENT_DIALOGS: String(dialogsInFlight),
          TELEGRAM_SENDS_IN_DOUBT: String(globalCap),
          SQLITE_WORKER: process.env["CRASH_SQLITE_WORKER"] ?? "true",
          LOG_LEVEL: "warn"
        }, { via: "source" })
        processes.push(started)
        return started
      })

      const chats = Array.from({ length: users }, (_, user) => updatesOf(user))
      const all = chats.flat()
      const repliesSoFar = Effect.map(botApi.delivered("sendMessage"), (d) => d.length)

      const firstStarted = Date.now()
      expect(yield* untilHealthy(yield* start, port, 60_000), output()).toBe(true)
      const load = Effect.runFork(Effect.promise(() => deliverChats(`${base}/telegram/webhook`, secret, chats, { retryDelayMs: 100 })))

      // Kill at random moments of the run: the first once a share of the replies is out, after
      // a further random 0-300 ms; each later one with the first replies of the restarted
      // process (0-100 ms after its first), while it runs the dialogs it recovered — it runs
      // them before it answers /healthz, so only the last start is waited for.
      const killedAt: Array<number> = []
      for (let k = 0; k < kills; k++) {
        const share = k === 0 ? Math.floor(all.length / (kills + 2)) : killedAt[k - 1]! + 1
        const giveUp = Date.now() + 60_000
        while ((yield* repliesSoFar) < share && Date.now() < giveUp) yield* Effect.promise(() => sleep(10))
        yield* Effect.promise(() => sleep(Math.floor(random() * (k === 0 ? 300 : 100))))
        killedAt.push(yield* repliesSoFar)
        const victim = current().child
        victim.kill("SIGKILL")
        const exit = yield* exited(victim)
        expect(exit.signal).toBe("SIGKILL")
        const next = yield* start
        if (k === kills - 1) expect(yield* untilHealthy(next, port, 60_000), output()).toBe(true)
      }
      const acks = yield* load.await.pipe(Effect.flatMap((exit) => exit))
      // Every update gets its reply (the last process runs to the end).
      const deadline = Date.now() + 90_000
      const tokens = () =>
        Effect.map(botApi.delivered("sendMessage"), (calls) => calls.map((c) => /tok-(\d+)/.exec(String(c.params["text"]))?.[1]))
      while (new Set(yield* tokens()).size < all.length && Date.now() < deadline) {
        yield* Effect.promise(() => sleep(100))
      }
      const delivered = yield* tokens()
      const counts = new Map<string, number>()
      for (const t of delivered) if (t !== undefined) counts.set(t, (counts.get(t) ?? 0) + 1)
      const duplicates = [...counts.values()].reduce((sum, n) => sum + n - 1, 0)
      // Duplicated replies per chat: one chat has at most one message in doubt at a kill.
      const chatOf = new Map(all.map((u) => [String(u.update_id), u.message.chat.id]))
      const perChat = new Map<number, number>()
      for (const [token, n] of counts) {
        if (n > 1) perChat.set(chatOf.get(token)!, (perChat.get(chatOf.get(token)!) ?? 0) + n - 1)
      }
      const missing = all.filter((u) => !counts.has(String(u.update_id))).map((u) => u.update_id)
      const webhookRetries = [...acks.values()].reduce((sum, r) => sum + r.attempts - 1, 0)

      // The last process stops cleanly on SIGTERM.
      const last = current().child
      last.kill("SIGTERM")
      const lastExit = yield* exited(last)

      console.log(JSON.stringify({
        suite: "crash",
        updates: all.length,
        kills,
        repliesWhenKilled: killedAt,
        replies: delivered.length,
        duplicates,
        chatsWithDuplicates: perChat.size,
        mostInOneChat: Math.max(0, ...perChat.values()),
        globalCap,
        missing: missing.length,
        webhookRetries,
        unexpectedReplies: delivered.filter((t) => t === undefined).length,
        seconds: (Date.now() - firstStarted) / 1000
      }))

      expect(acks.size).toBe(all.length)
      expect([...acks.values()].every((r) => r.status === 200)).toBe(true)
      expect(missing, output().slice(-3000)).toEqual([])
      // A reply is sent again only when it reached Telegram and the process died before its
      // record was written: at most one message in doubt per chat, so at most one duplicate
      // per chat and kill, and per kill at most the dialogs in flight (or the global cap).
      expect(Math.max(0, ...perChat.values())).toBeLessThanOrEqual(kills)
      expect(duplicates).toBeLessThanOrEqual(kills * (globalCap > 0 ? Math.min(globalCap, dialogsInFlight) : dialogsInFlight))
      // The kills landed mid-run: before the first reply of some and after the last of none.
      expect(killedAt.every((n) => n < all.length)).toBe(true)
      expect(lastExit.code).toBe(0)
      expect(output()).not.toContain(botApi.token)
    }), full ? 400_000 : 200_000)
})
