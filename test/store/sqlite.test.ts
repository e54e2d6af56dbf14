/**
 * What only the SQLite layer has: its file. Settings of the connection, data that outlives the
 * process, recovery of the inbox by the dispatcher across two lifetimes of the layers (the
 * store contract's `recoveryContract.ts`), and a clear StoreError at start for a file that
 * cannot be used.
 */
import { Migrator, SqlClient } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { execFileSync } from "node:child_process"
import { chmodSync, existsSync, mkdirSync, mkdtempSync, openSync, closeSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { migrateConfigured } from "../../src/store/Stores.ts"
import type { StoreError } from "../../src/domain/errors.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { sqliteMigrationSteps } from "../../src/store/sqlite/migrations.ts"
import { SqliteDatabase } from "../../src/store/sqlite/SqliteDatabase.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { id } from "./contract.ts"
import { recoveryContract } from "./recoveryContract.ts"

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

  it.scoped("migrate says which migrations it applied, then that there is none left", () =>
    Effect.gen(function*() {
      const path = join(yield* tempDir, "bot.sqlite")
      const env = ConfigProvider.fromMap(new Map([["STORE", "sqlite"], ["SQLITE_PATH", path]]))
      const migrate = Effect.withConfigProvider(migrateConfigured, env)
      const names = Object.keys(sqliteMigrationSteps).join(", ")
      expect(yield* migrate).toBe(`SQLite database ${path}: applied ${names}; up to date.`)
      expect(yield* migrate).toBe(`SQLite database ${path}: no migration to apply; up to date.`)
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

recoveryContract("SQLite", Effect.map(tempDir, (dir) => StoresSqlite({ path: join(dir, "bot.sqlite"), busyTimeout: "5 seconds" })))
