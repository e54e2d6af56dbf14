/**
 * Exactly-once credit across a crash: `serve` on SQLite (the compiled bin, a real process)
 * receives a Stars payment; the fake Bot API holds the thank-you, so the process is SIGKILLed
 * after the credit is stored and before the user is thanked. Started again on the same file,
 * it re-runs the update its inbox still holds, and Telegram delivers the same update once more:
 * the balance is credited once, and the user is thanked.
 *
 * The invoice was signed before the crash by a key no setting names: derived from the bot
 * token, it is the same after the restart.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { payloadKeyOf } from "../../src/payments/PaymentsConfig.ts"
import { signPayload } from "../../src/payments/Stars.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { exitCode, exited, freePort, processStart, startBot, untilHealthy } from "../support/BotProcess.ts"
import { eventually, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { paid } from "../payments/paymentUpdates.ts"

const secret = "crash-test-secret"
const thanks = "Thank you! 100,000 tokens were added to your balance."

const post = (port: number, update: unknown) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body: JSON.stringify(update)
    }).then((res) => res.status)
  )

describe("a Stars payment across a SIGKILL", () => {
  it.scopedLive("killed between the credit and the thank-you, restarted, the update delivered again: credited once, thanked", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "payment-crash-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const fake = yield* makeFakeBotApi()
      const database = join(dir, "bot.sqlite")
      const port = yield* freePort
      const env = {
        TELEGRAM_BOT_TOKEN: fake.token,
        TELEGRAM_API_BASE_URL: fake.url,
        WEBHOOK_SECRET: secret,
        STORE: "sqlite",
        SQLITE_PATH: database,
        HOST: "127.0.0.1",
        PORT: String(port),
        STARS_PACK: "50:100000",
        LOG_LEVEL: "warning"
      }
      const payment = paid(signPayload(payloadKeyOf(Redacted.make(fake.token)), 7, { stars: 50, tokens: 100_000 }), "stxCrash1")

      // The thank-you is held: the process has stored the credit and waits for Telegram.
      yield* fake.script("sendMessage", { hang: true })
      const first = yield* startBot(["serve"], env)
      expect(yield* untilHealthy(first, port, processStart)).toBe(true)
      expect(yield* post(port, payment)).toBe(200)
      const [held] = yield* fake.waitForCalls("sendMessage", 1)
      expect(held?.params).toMatchObject({ chat_id: 7, text: thanks })
      first.child.kill("SIGKILL")
      expect((yield* exited(first.child)).signal).toBe("SIGKILL")

      const second = yield* startBot(["serve"], env)
      expect(yield* untilHealthy(second, port, processStart)).toBe(true)
      // Telegram delivers the update again (its first delivery was never confirmed, say).
      expect(yield* post(port, payment)).toBe(200)
      const delivered = yield* eventually(fake.delivered("sendMessage"), (calls) => calls.length >= 1, processStart)
      expect(delivered.map((c) => [c.params["chat_id"], c.params["text"]])).toEqual([[7, thanks]])
      second.child.kill("SIGTERM")
      expect(yield* exitCode(second.child)).toBe(0)
      // Nothing more was sent while it drained and stopped.
      expect((yield* fake.delivered("sendMessage")).length).toBe(1)

      const totals = yield* Effect.flatMap(UsageLedger, (ledger) => ledger.userTotals(7 as TelegramId, 0, 0)).pipe(
        Effect.provide(StoresSqlite({ path: database, busyTimeout: "5 seconds" }))
      )
      expect(totals.credited).toBe(100_000)
    }), 120_000)
})
