/**
 * What only the SQLite layer has: its file. Settings of the connection, data that outlives the
 * process, recovery of the inbox by the dispatcher across two lifetimes of the layers, and a
 * clear StoreError at start for a file that cannot be used.
 */
import { NodeContext } from "@effect/platform-node"
import { Migrator, SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Layer, Option } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import type { StoreError } from "../../src/domain/errors.ts"
import { decodeUpdate } from "../../src/domain/Update.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { sqliteMigrationSteps } from "../../src/store/sqlite/migrations.ts"
import { SqliteDatabase } from "../../src/store/sqlite/SqliteDatabase.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { TelegramApiRecorder, TelegramRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { answeredUpdate, defaultProfilePath, textMessage } from "../../src/testing/index.ts"
import { id } from "./contract.ts"

const tempDir = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-sqlite-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** The error of opening the database (the test fails if it opens). */
const openFailure = (path: string): Effect.Effect<StoreError, unknown> =>
  Effect.flip(Effect.scoped(Layer.build(SqliteDatabase({ path, busyTimeout: "1 second" }))))

describe("SQLite file", () => {
  it.scoped("is opened in WAL mode with synchronous=NORMAL and a busy timeout, its directory created", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const pragmas = yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        const read = (name: string) => Effect.map(sql.unsafe(`PRAGMA ${name}`), (rows) => Object.values(rows[0] ?? {})[0])
        return [yield* read("journal_mode"), yield* read("synchronous"), yield* read("busy_timeout")]
      }).pipe(Effect.provide(SqliteDatabase({ path: join(dir, "a", "b", "bot.sqlite"), busyTimeout: "2500 millis" })))
      expect(pragmas).toEqual(["wal", 1, 2500])
    }))

  it.scoped("keeps what was written across two lifetimes of the layer", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const layer = StoresSqlite({ path: join(dir, "bot.sqlite"), busyTimeout: "1 second" })
      yield* Effect.gen(function*() {
        yield* (yield* ClientStore).getOrCreate({ id: id(6021488832), firstName: "Anna" })
        yield* (yield* HistoryStore).append({ chatId: id(6021488832), updateId: id(1), role: "user", text: "hi", at: 1 })
        yield* (yield* Inbox).record({ updateId: id(1), chatId: id(6021488832), payload: "{}" })
      }).pipe(Effect.provide(layer))
      const after = yield* Effect.gen(function*() {
        return [
          Option.map(yield* (yield* ClientStore).get(id(6021488832)), (c) => c.firstName),
          (yield* (yield* HistoryStore).lastN(id(6021488832), 5)).map((m) => m.text),
          yield* (yield* Inbox).pendingCount
        ]
      }).pipe(Effect.provide(layer))
      expect(after).toEqual([Option.some("Anna"), ["hi"], 1])
    }))

  it.scoped("a database of the first schema is brought up to date at start; its pending entries keep their data", () =>
    Effect.gen(function*() {
      const path = join(yield* tempDir, "bot.sqlite")
      // The database as the first version left it: migration 0001 only, one update pending.
      yield* Effect.gen(function*() {
        const applied = yield* Migrator.make({})({
          loader: Migrator.fromRecord({ "0001_create_tables": sqliteMigrationSteps["0001_create_tables"] })
        })
        expect(applied.map(([, name]) => name)).toEqual(["create_tables"])
        const sql = yield* SqlClient.SqlClient
        yield* sql`INSERT INTO inbox (update_id, chat_id, payload, status, received_at) VALUES (${6021488832}, ${42}, ${"{}"}, 'pending', ${1})`
      }).pipe(Effect.provide(SqliteClient.layer({ filename: path })))

      const entry = yield* Effect.gen(function*() {
        const inbox = yield* Inbox
        const before = yield* inbox.entry(id(6021488832))
        yield* inbox.markDelivered(id(6021488832), 2)
        return { before, after: yield* inbox.entry(id(6021488832)) }
      }).pipe(Effect.provide(StoresSqlite({ path, busyTimeout: "1 second" })))
      expect(Option.map(entry.before, (e) => [e.status, e.payload, e.delivered])).toEqual(Option.some(["pending", "{}", 0]))
      expect(Option.map(entry.after, (e) => e.delivered)).toEqual(Option.some(2))
    }))

  it.scoped("a file that is not a database fails at start with a StoreError", () =>
    Effect.gen(function*() {
      const path = join(yield* tempDir, "bot.sqlite")
      writeFileSync(path, "this is not a database, just some text ".repeat(200))
      const error = yield* openFailure(path)
      expect(error._tag).toBe("StoreError")
      expect(error.operation).toBe("open")
      expect(error.message).toBe(`SQLite database ${path}: file is not a database`)
    }))

  it.scoped("a truncated database file fails at start with a StoreError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "bot.sqlite")
      yield* Effect.scoped(Layer.build(SqliteDatabase({ path, busyTimeout: "1 second" })))
      // Keep the SQLite header, lose the rest and the WAL.
      const fd = openSync(path, "r+")
      writeFileSync(fd, Buffer.alloc(100, 0xff), { flag: "r+" })
      closeSync(fd)
      rmSync(`${path}-wal`, { force: true })
      const error = yield* openFailure(path)
      expect(error.operation).toBe("open")
      expect(error.message).toMatch(/^SQLite database .*: (file is not a database|database disk image is malformed)/)
    }))

  it.scoped("a path whose parent is a file, or a directory as the path, fail at start with a StoreError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      writeFileSync(join(dir, "plain-file"), "x")
      const underFile = yield* openFailure(join(dir, "plain-file", "bot.sqlite"))
      expect(underFile.message).toContain("cannot create the directory of")
      mkdirSync(join(dir, "a-directory"))
      const isDirectory = yield* openFailure(join(dir, "a-directory"))
      expect(isDirectory.operation).toBe("open")
      expect(isDirectory.message).toContain(join(dir, "a-directory"))
    }))

  it.scoped("missing directories are created level by level; one the system refuses fails at once (not a loop)", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const nested = join(dir, "a", "b", "c", "bot.sqlite")
      yield* Effect.scoped(Layer.build(SqliteDatabase({ path: nested, busyTimeout: "1 second", worker: false })))
      expect(existsSync(nested)).toBe(true)
      // /proc takes no new entries: Node's recursive mkdir loops forever there.
      const refused = yield* openFailure("/proc/no-such-dir/bot.sqlite")
      expect(refused.message).toBe(
        "SQLite database /proc/no-such-dir/bot.sqlite: cannot create the directory of /proc/no-such-dir/bot.sqlite: ENOENT: no such file or directory, mkdir '/proc/no-such-dir'"
      )
    }))

  it.scoped("a read-only database file fails at start with a StoreError", () =>
    Effect.gen(function*() {
      const dir = yield* tempDir
      const path = join(dir, "bot.sqlite")
      yield* Effect.scoped(Layer.build(SqliteDatabase({ path, busyTimeout: "1 second" })))
      rmSync(`${path}-wal`, { force: true })
      rmSync(`${path}-shm`, { force: true })
      chmodSync(path, 0o444)
      // Permissions do not stop root; the immutable attribute does.
      const root = process.getuid?.() === 0
      if (root) execFileSync("chattr", ["+i", path])
      yield* Effect.addFinalizer(() => Effect.sync(() => (root ? execFileSync("chattr", ["-i", path]) : undefined)))
      expect(() => closeSync(openSync(path, "r+"))).toThrow()
      const error = yield* openFailure(path)
      expect(error.operation).toBe("open")
      expect(error.message).toMatch(/^SQLite database .*: attempt to write a readonly database/)
    }))
})

describe("recovery from the inbox on SQLite", () => {
  const bot = (path: string) =>
    botLayer<never, TelegramApi>({
      telegram: Layer.effect(TelegramApi, TelegramApi),
      model: LanguageModelOffline,
      stores: Layer.orDie(StoresSqlite({ path, busyTimeout: "5 seconds" })),
      profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
      // The supergroup's messages are answered whether or not they mention the bot.
      dialogConfig: DialogConfig.make({ groupMode: "all" }),
      dispatcherConfig: DispatcherConfig.make({ updateDeadline: Duration.seconds(20) }),
      sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) })
    }).pipe(Layer.orDie, Layer.provideMerge(TelegramApiRecorder()))

  it.scoped("the next start re-runs every pending update in per-chat order, before new updates", () =>
    Effect.gen(function*() {
      const path = join(yield* tempDir, "bot.sqlite")
      const anna = 6021488832
      const ben = -1001234567890 // a supergroup
      const updates = [
        textMessage({ updateId: 101, userId: anna, text: "hello" }),
        textMessage({ updateId: 102, userId: anna, text: "How much is delivery?" }),
        textMessage({ updateId: 103, userId: 7, chatId: ben, text: "What are your opening hours?" }),
        textMessage({ updateId: 104, userId: anna, text: "Can I return an item?" }),
        textMessage({ updateId: 105, userId: 7, chatId: ben, text: "Do you ship to Austria?" }),
        textMessage({ updateId: 106, userId: anna, text: "thanks" })
      ]

      // First lifetime: every update acknowledged (recorded), then the process "dies": 101 was
      // answered, 102's reply was composed and stored but not sent, 103's reply was sent and
      // recorded as delivered but its entry not yet marked done, the rest never started.
      yield* Effect.gen(function*() {
        const inbox = yield* Inbox
        const history = yield* HistoryStore
        for (const u of updates) {
          const chatId = u.message.chat.id
          expect(yield* inbox.record({ updateId: id(u.update_id), chatId: id(chatId), payload: JSON.stringify(u) })).toBe("New")
        }
        yield* inbox.markDone(id(101))
        yield* history.append({ chatId: id(anna), updateId: id(102), role: "user", text: "How much is delivery?", at: 1 })
        yield* history.append({ chatId: id(anna), updateId: id(102), role: "assistant", text: "Stored reply to 102", at: 2 })
        yield* history.append({ chatId: id(ben), updateId: id(103), role: "user", text: "What are your opening hours?", at: 3 })
        yield* history.append({ chatId: id(ben), updateId: id(103), role: "assistant", text: "Sent reply to 103", at: 4 })
        yield* inbox.markDelivered(id(103), 1)
      }).pipe(Effect.provide(StoresSqlite({ path, busyTimeout: "1 second" })))

      // Second lifetime: the dispatcher recovers at start; a new update arrives right away.
      const result = yield* Effect.gen(function*() {
        const dispatcher = yield* Dispatcher
        const fresh = textMessage({ updateId: 107, userId: anna, text: "One more question about delivery" })
        expect(yield* dispatcher.submit({ json: JSON.stringify(fresh), update: yield* decodeUpdate(fresh) })).toBe("New")
        yield* dispatcher.awaitIdle
        const sent = yield* (yield* TelegramRecorder).sent
        const inbox = yield* Inbox
        return {
          sent,
          pending: yield* inbox.pendingCount,
          statuses: yield* Effect.forEach([101, 102, 103, 104, 105, 106, 107], (n) =>
            Effect.map(inbox.entry(id(n)), Option.map((e) => e.status)))
        }
      }).pipe(Effect.provide(bot(path)))

      const order = (chatId: number) => [...new Set(result.sent.filter((m) => m.chatId === chatId).map(answeredUpdate))]
      expect(order(anna)).toEqual([102, 104, 106, 107])
      // 103's reply reached the user before the crash: its re-run does not send it again.
      expect(order(ben)).toEqual([105])
      expect(result.sent.find((m) => answeredUpdate(m) === 102)?.text).toBe("Stored reply to 102")
      expect(result.sent.some((m) => m.text === "Sent reply to 103")).toBe(false)
      expect(result.pending).toBe(0)
      expect(result.statuses).toEqual(Array.from({ length: 7 }, () => Option.some("done")))
    }), 30_000)
})
