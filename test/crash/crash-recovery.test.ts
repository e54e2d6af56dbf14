/**
 * The crash test: a replay on SQLite is killed with SIGKILL while dialogs are running, then
 * started again on the same database. The second start re-runs what the inbox still holds as
 * pending, so every update gets its reply and nothing stays pending. With `MERGE_WINDOW` the
 * same holds for quick successive messages answered as one turn: none lost, none answered by
 * two turns.
 */
import { describe, expect, it } from "@effect/vitest"
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Effect, Option } from "effect"
import { id } from "../store/contract.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { ended, exited, spawnProcess, type Started } from "../support/BotProcess.ts"

const script = new URL("./slowReplay.mjs", import.meta.url).pathname

interface SentLine {
  readonly update_id: number
  readonly chat_id: number
  readonly text: string
  /** The updates answered in the same turn (quick successive messages, `MERGE_WINDOW`). */
  readonly merged?: ReadonlyArray<number>
}

const chats = [523746101, 6021488832, -1001234567890]
const questions = ["How much is delivery?", "What are your opening hours?", "Can I return an item?", "Do you ship to Austria?"]
const updates = questions.flatMap((text, round) =>
  chats.map((chat, c) => ({
    update_id: 900_000_000 + round * 10 + c,
    message: {
      message_id: 1 + round * 10 + c,
      from: { id: chat > 0 ? chat : 77, is_bot: false, first_name: `User${c}` },
      chat: { id: chat, type: chat > 0 ? "private" : "supergroup" },
      date: 1_764_300_000 + round,
      text
    }
  }))
)

const readSent = (path: string): ReadonlyArray<SentLine> =>
  existsSync(path)
    ? readFileSync(path, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => JSON.parse(l) as SentLine)
    : []

const start = (dir: string, sentFile: string, delayMs: number, env: Record<string, string>): Started =>
  spawnProcess(process.execPath, [script, join(dir, "updates.jsonl"), sentFile], {
    GROUP_MODE: "all",
    STORE: "sqlite",
    SQLITE_PATH: join(dir, "db", "bot.sqlite"),
    CRASH_TEST_MODEL_DELAY_MS: String(delayMs),
    ...env
  })

const waitUntil = async (condition: () => boolean, timeoutMs: number) => {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) return false
    await new Promise((r) => setTimeout(r, 25))
  }
  return true
}

/**
 * The replay of `dir/updates.jsonl`: a first run with slow dialogs (250 ms a model call),
 * SIGKILLed as soon as its first replies are out, then a second run on the same database at
 * full speed, to its end. What each run sent, and what the kill left pending in the inbox
 * (with how much of each reply went out).
 */
const killedThenRestarted = async (dir: string, env: Record<string, string> = {}) => {
  const runs: Array<Started> = []
  try {
    const firstSent = join(dir, "sent-1.jsonl")
    const first = start(dir, firstSent, 250, env)
    runs.push(first)
    const firstExit = Effect.runPromise(exited(first.child))
    const someAnswered = await waitUntil(() => readSent(firstSent).length >= 2, 25_000)
    first.child.kill("SIGKILL")
    expect(someAnswered).toBe(true)
    expect(await firstExit).toEqual({ code: null, signal: "SIGKILL" })
    const leftPending = await Effect.runPromise(
      Effect.flatMap(Inbox, (inbox) => inbox.pending()).pipe(Effect.provide(StoresSqlite({ path: join(dir, "db", "bot.sqlite"), busyTimeout: "5 seconds" })))
    )

    const secondSent = join(dir, "sent-2.jsonl")
    const second = start(dir, secondSent, 0, env)
    runs.push(second)
    expect(await Effect.runPromise(exited(second.child)), second.output()).toEqual({ code: 0, signal: null })
    return { beforeKill: readSent(firstSent), afterRestart: readSent(secondSent), leftPending }
  } finally {
    for (const run of runs) if (!ended(run.child)) run.child.kill("SIGKILL")
  }
}

/** What the inbox of `dir`'s database holds afterwards: the pending count, and the status of each of `updates`. */
const inboxAfter = (dir: string, updates: ReadonlyArray<{ readonly update_id: number }>) =>
  Effect.runPromise(
    Effect.gen(function*() {
      const inbox = yield* Inbox
      return {
        pending: yield* inbox.pendingCount,
        done: yield* Effect.forEach(updates, (u) => Effect.map(inbox.entry(id(u.update_id)), Option.map((e) => e.status)))
      }
    }).pipe(Effect.provide(StoresSqlite({ path: join(dir, "db", "bot.sqlite"), busyTimeout: "5 seconds" })))
  )

describe("crash recovery", () => {
  it("a replay killed mid-run answers every update after the restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bot-crash-"))
    try {
      writeFileSync(join(dir, "updates.jsonl"), updates.map((u) => JSON.stringify(u)).join("\n") + "\n")

      // First run: slow dialogs; killed as soon as the first replies are out. Second run on
      // the same database, at full speed.
      const { afterRestart, beforeKill, leftPending } = await killedThenRestarted(dir)
      const answeredFirst = new Set(beforeKill.map((l) => l.update_id))
      // The kill landed mid-run: some updates were still unanswered.
      expect(answeredFirst.size).toBeLessThan(updates.length)

      // Every update has its reply, from one run or the other.
      const answered = new Set([...answeredFirst, ...afterRestart.map((l) => l.update_id)])
      expect([...answered].sort()).toEqual(updates.map((u) => u.update_id).sort())
      // The restart answered exactly what the kill left pending with nothing of its reply sent
      // (unanswered, or sent but not yet recorded as sent), each once, chat by chat in order.
      const restartIds = afterRestart.map((l) => l.update_id)
      expect(restartIds.length).toBe(new Set(restartIds).size)
      expect([...restartIds].sort()).toEqual(leftPending.filter((e) => e.delivered === 0).map((e) => e.updateId).sort())
      for (const u of updates) {
        if (!answeredFirst.has(u.update_id)) expect(restartIds).toContain(u.update_id)
      }
      for (const chat of chats) {
        const order = afterRestart.filter((l) => l.chat_id === chat).map((l) => l.update_id)
        expect(order).toEqual([...order].sort((a, b) => a - b))
      }

      // Nothing is left pending in the inbox.
      const statuses = await inboxAfter(dir, updates)
      expect(statuses.pending).toBe(0)
      expect(statuses.done.every((s) => Option.getOrNull(s) === "done")).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 60_000)

  it("with MERGE_WINDOW, a replay killed mid-run answers every update once in total, merged turns included", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bot-crash-merge-"))
    // Three private chats of three quick messages each (merged), and a supergroup where two
    // people take turns (not merged: each message is a turn of its own, one after another).
    const privateChats = [523746101, 6021488832, 4242001]
    const group = -1001234567890
    const texts = ["hi", "I ordered the blue kettle", "when does it arrive?", "and the price?", "thanks", "bye"]
    const message = (updateId: number, chat: number, from: number, text: string, round: number) => ({
      update_id: updateId,
      message: {
        message_id: updateId % 1000,
        from: { id: from, is_bot: false, first_name: `User${from % 100}` },
        chat: { id: chat, type: chat > 0 ? "private" : "supergroup" },
        date: 1_764_300_000 + round,
        text
      }
    })
    const all = texts.flatMap((text, round) => [
      ...(round < 3 ? privateChats.map((chat, c) => message(910_000_000 + round * 10 + c, chat, chat, text, round)) : []),
      message(910_000_000 + round * 10 + 5, group, round % 2 === 0 ? 77 : 78, text, round)
    ])
    const env = { MERGE_WINDOW: "1000 millis" }
    try {
      writeFileSync(join(dir, "updates.jsonl"), all.map((u) => JSON.stringify(u)).join("\n") + "\n")

      const { beforeKill, afterRestart } = await killedThenRestarted(dir, env)

      // Which turns answered each update: the update that sent the reply, for it and the updates merged into it.
      const lines = [...beforeKill, ...afterRestart]
      const answeredBy = new Map<number, Set<number>>()
      for (const line of lines) {
        for (const u of [...(line.merged ?? []), line.update_id]) answeredBy.set(u, (answeredBy.get(u) ?? new Set()).add(line.update_id))
      }
      const coveredFirst = new Set(beforeKill.flatMap((l) => [...(l.merged ?? []), l.update_id]))
      // The kill landed mid-run; some turn merged several messages.
      expect(coveredFirst.size).toBeLessThan(all.length)
      expect(lines.some((l) => (l.merged ?? []).length > 0)).toBe(true)
      // None lost, none answered by two turns.
      expect([...answeredBy.keys()].sort()).toEqual(all.map((u) => u.update_id).sort())
      for (const [u, by] of answeredBy) expect([...by], `update ${u}`).toHaveLength(1)

      const statuses = await inboxAfter(dir, all)
      expect(statuses.pending).toBe(0)
      expect(statuses.done.every((s) => Option.getOrNull(s) === "done")).toBe(true)
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  }, 90_000)
})
