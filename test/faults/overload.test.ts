/**
 * Overload: far more updates arrive than the global limit can run. The webhook keeps
 * acknowledging each one as soon as it is in the inbox (SQLite, on disk), the dispatcher keeps
 * at most DISPATCHER_MAX_QUEUED decoded updates in memory and only ids beyond that, and no
 * fiber waits per chat, so the heap stays bounded while 20,000 updates wait.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Deferred, Duration, Effect, Exit, Layer, Logger, LogLevel, Scope } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { type CompletionResponse, LanguageModel, noUsage } from "../../src/llm/LanguageModel.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"
import { makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"
import { inFaultSuite, startWebhookServer } from "./support.ts"

const full = process.env["FAULTS_FULL"] === "1"
const total = full ? 20_000 : 1_000
const chats = full ? 2_000 : 500
const secret = "overload-secret"
const maxQueuedInMemory = 1_000

const collectGarbage = () => (globalThis as { gc?: () => void }).gc?.()
const heapMb = () => {
  collectGarbage()
  collectGarbage()
  return Math.round(process.memoryUsage().heapUsed / 1024 / 10.24) / 100
}

const update = (i: number) => ({
  update_id: 9_000_000 + i,
  message: {
    message_id: i + 1,
    from: { id: 300_000 + (i % chats), is_bot: false, first_name: "Load", username: "load_user" },
    chat: { id: 300_000 + (i % chats), type: "private" },
    date: 1_764_300_000,
    // A realistic message size: the decoded updates are what would fill memory.
    text: `message ${i}: ${"lorem ipsum dolor sit amet ".repeat(20)}`
  }
})

describe("overload", () => {
  it.scopedLive(`${total} updates waiting behind a held model: quick acknowledgements, bounded memory`, () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "bot-overload-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const botApi = yield* makeFakeBotApi()
      // The model holds every dialog until the test ends: nothing finishes, everything queues.
      const gate = yield* Deferred.make<void>()
      const response: CompletionResponse = { text: "ok", toolCalls: [], usage: noUsage, model: "held" }
      const heldModel = Layer.succeed(LanguageModel, {
        description: "held",
        complete: () => Effect.as(Deferred.await(gate), response)
      })
      const bot = botLayer({
        telegram: telegramLayerFor(botApi),
        model: heldModel,
        stores: StoresSqlite({ path: join(dir, "bot.sqlite"), busyTimeout: Duration.seconds(5) }),
        profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
        dialogConfig: DialogConfig.make(),
        dispatcherConfig: DispatcherConfig.make({
          maxConcurrentDialogs: 8,
          maxQueuedInMemory,
          updateDeadline: Duration.minutes(10),
          shutdownDeadline: Duration.millis(200)
        }),
        sendConfig: SendConfig.make()
      })
      const { dispatcher, inbox, scope, url } = yield* startWebhookServer(bot, secret)

      // Warm up the paths once, then measure from an idle heap.
      const bodies = Array.from({ length: total }, (_, i) => JSON.stringify(update(i)))
      const heapBefore = heapMb()
      const latencies: Array<number> = []
      const statuses = new Map<number, number>()
      const started = Date.now()
      yield* Effect.promise(async () => {
        let next = 0
        await Promise.all(Array.from({ length: 32 }, async () => {
          while (next < bodies.length) {
            const body = bodies[next++]!
            const t = performance.now()
            const status = await fetch(url, {
              method: "POST",
              headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
              body
            }).then(async (r) => {
              await r.arrayBuffer()
              return r.status
            })
            latencies.push(performance.now() - t)
            statuses.set(status, (statuses.get(status) ?? 0) + 1)
          }
        }))
      })
      const seconds = (Date.now() - started) / 1000
      const heapAfter = heapMb()
      const outstanding = yield* dispatcher.outstanding
      const pending = yield* inbox.pendingCount
      latencies.sort((a, b) => a - b)
      const pct = (p: number) => Math.round(latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]! * 10) / 10

      console.log(JSON.stringify({
        suite: "overload",
        updates: total,
        chats,
        maxQueuedInMemory,
        statuses: Object.fromEntries(statuses),
        ackMs: { p50: pct(0.5), p99: pct(0.99), max: pct(1) },
        acksPerSecond: Math.round(total / seconds),
        heapUsedMb: { before: heapBefore, after: heapAfter, growth: Math.round((heapAfter - heapBefore) * 100) / 100 },
        perQueuedUpdateBytes: Math.round(((heapAfter - heapBefore) * 1024 * 1024) / total),
        outstanding,
        pending,
        gc: typeof (globalThis as { gc?: unknown }).gc === "function"
      }))

      // Every update acknowledged, all of them waiting in the inbox, none lost.
      expect(statuses.get(200)).toBe(total)
      expect(pending).toBe(total)
      expect(outstanding).toBe(total)
      if (inFaultSuite) {
        // Acknowledgements do not wait for dialogs: even the slowest is far below any dialog deadline.
        expect(pct(0.99)).toBeLessThan(2_000)
        // Memory: the decoded updates in memory are capped; each further update costs its id only.
        // (A decoded update with its text is several KB; the bound allows well under 1 KB each.)
        // Measured after a full collection, which the fault suite's config exposes (--expose-gc).
        expect(typeof (globalThis as { gc?: unknown }).gc, "the fault suite runs with --expose-gc").toBe("function")
        expect(heapAfter - heapBefore).toBeLessThan(16 + (total * 1024) / (1024 * 1024))
      }

      // Shutdown with everything queued: the deadline interrupts, the scope closes, nothing is left.
      const closeStarted = Date.now()
      yield* Scope.close(scope, Exit.void)
      const closeMs = Date.now() - closeStarted
      if (inFaultSuite) expect(closeMs).toBeLessThan(10_000)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.Error)), 240_000)
})
