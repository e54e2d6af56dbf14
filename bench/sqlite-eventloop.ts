/**
 * How much the embedded SQLite store blocks the event loop. better-sqlite3 runs statements
 * synchronously: by default in a worker thread (`worker`), optionally on the main thread
 * (`thread`, SQLITE_WORKER=false).
 *
 * Load: 2,000 updates from 500 users, 64 at a time (the default MAX_CONCURRENT_DIALOGS); per
 * update what the dispatcher and the pipeline do with the stores: Inbox.record,
 * ClientStore.getOrCreate, HistoryStore.lastN(13), two appends (user message and reply),
 * Inbox.markDone. The database is a fresh file (WAL, synchronous=NORMAL) in a temporary
 * directory. The event-loop delay is sampled with perf_hooks.monitorEventLoopDelay (1 ms
 * resolution) during the load only.
 *
 * Fibers run on the entry points' scheduler (`ioFairScheduler`: every batch of fibers is a
 * `setImmediate`); BENCH_SCHEDULER=default runs them on Effect's default scheduler instead.
 *
 *   npx tsx bench/sqlite-eventloop.ts [updates=2000] [users=500] [worker|thread]
 */
import { mkdtempSync, rmSync } from "node:fs"
import { cpus, tmpdir } from "node:os"
import { join } from "node:path"
import { monitorEventLoopDelay, performance } from "node:perf_hooks"
import { Effect } from "effect"
import type { TelegramId } from "../src/domain/Update.ts"
import { ClientStore } from "../src/store/ClientStore.ts"
import { HistoryStore } from "../src/store/HistoryStore.ts"
import { Inbox } from "../src/store/Inbox.ts"
import { ioFairScheduler } from "../src/runtime/Scheduler.ts"
import { StoresSqlite } from "../src/store/sqlite/SqliteStores.ts"

const updates = Number(process.argv[2] ?? 2000)
const users = Number(process.argv[3] ?? 500)
const mode = process.argv[4] === "thread" ? "thread" : "worker"
const scheduler = process.env.BENCH_SCHEDULER === "default" ? "default" : "ioFair"
const concurrency = 64
const ms = (ns: number) => (ns / 1e6).toFixed(2)

const load = Effect.gen(function*() {
  const clients = yield* ClientStore
  const history = yield* HistoryStore
  const inbox = yield* Inbox
  const perUpdate: Array<number> = []
  const one = (n: number) =>
    Effect.gen(function*() {
      const started = performance.now()
      const user = (6_000_000_000 + (n % users)) as TelegramId
      const updateId = (800_000_000 + n) as TelegramId
      const text = `message ${n}: how much is delivery to Austria? `.repeat(4)
      yield* inbox.record({ updateId, chatId: user, payload: JSON.stringify({ update_id: updateId, message: { text } }) })
      yield* clients.getOrCreate({ id: user, firstName: `User ${n % users}` })
      yield* history.lastN(user, 13)
      yield* history.append({ chatId: user, updateId, role: "user", text, at: Date.now() })
      yield* history.append({ chatId: user, updateId, role: "assistant", text: `reply to ${text}`, at: Date.now() })
      yield* inbox.markDone(updateId)
      perUpdate.push(performance.now() - started)
    })

  const histogram = monitorEventLoopDelay({ resolution: 1 })
  histogram.enable()
  // A second, independent probe: how late a 1 ms interval timer fires.
  const lateness: Array<number> = []
  let expected = performance.now() + 1
  const probe = setInterval(() => {
    const now = performance.now()
    lateness.push(Math.max(0, now - expected))
    expected = now + 1
  }, 1)
  const started = performance.now()
  yield* Effect.forEach(Array.from({ length: updates }, (_, i) => i), one, { concurrency, discard: true })
  const elapsed = performance.now() - started
  yield* Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 5)))
  clearInterval(probe)
  histogram.disable()
  lateness.sort((a, b) => a - b)
  const late = (p: number) => (lateness[Math.min(lateness.length - 1, Math.floor((p / 100) * lateness.length))] ?? 0).toFixed(2)

  perUpdate.sort((a, b) => a - b)
  const pct = (p: number) => (perUpdate[Math.min(perUpdate.length - 1, Math.floor((p / 100) * perUpdate.length))] ?? 0).toFixed(2)
  console.log(
    `SQLite event-loop delay (${mode === "worker" ? "worker thread" : "main thread"}, ${scheduler} scheduler): ${updates} updates from ${users} users, ${concurrency} at a time, 6 store calls each`
  )
  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? "?"}, Node ${process.version}`)
  console.log(`elapsed ${elapsed.toFixed(0)} ms, ${(updates / (elapsed / 1000)).toFixed(0)} updates/s, ${((updates * 6) / (elapsed / 1000)).toFixed(0)} store calls/s`)
  console.log(
    `event-loop delay (ms): p50 ${ms(histogram.percentile(50))}, p99 ${ms(histogram.percentile(99))}, max ${ms(histogram.max)}, mean ${ms(histogram.mean)}`
  )
  console.log(`samples: ${histogram.count}; 1 ms interval timer lateness (ms): p50 ${late(50)}, p99 ${late(99)}, max ${late(100)} over ${lateness.length} ticks`)
  console.log(`store time per update (ms): p50 ${pct(50)}, p99 ${pct(99)}, max ${pct(100)}`)
})

const dir = mkdtempSync(join(tmpdir(), "bench-sqlite-"))
Effect.runPromise(load.pipe(scheduler === "default" ? (e) => e : Effect.withScheduler(ioFairScheduler), Effect.provide(StoresSqlite({ path: join(dir, "bot.sqlite"), busyTimeout: "5 seconds", worker: mode === "worker" })))).finally(() =>
  rmSync(dir, { recursive: true, force: true })
)
