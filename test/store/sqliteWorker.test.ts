/**
 * The SQLite client whose connection lives in a worker thread: the event loop keeps turning
 * while a statement runs, a worker that dies is a typed error (and the next statement gets a new
 * worker), transactions commit and roll back, SQLite's errors keep their code, and closing the
 * layer closes the database. Tests that wait for the worker run on the real clock.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { describe, expect, it } from "@effect/vitest"
import { vi } from "vitest"
import { Worker } from "node:worker_threads"
import { existsSync, mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Context, Deferred, Duration, Effect, Fiber, FiberStatus, Layer, Option, Tracer } from "effect"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { ConversationState } from "../../src/store/ConversationState.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { InstanceLease } from "../../src/store/InstanceLease.ts"
import { ClientStoreSql } from "../../src/store/sql/ClientStoreSql.ts"
import { InstanceLeaseSql } from "../../src/store/sql/InstanceLeaseSql.ts"
import { SqlDialect } from "../../src/store/sql/SqlDialect.ts"
import { StoresOnSql } from "../../src/store/sql/SqlStores.ts"
import { migrateSqlite } from "../../src/store/sqlite/migrations.ts"
import { SqliteDatabase } from "../../src/store/sqlite/SqliteDatabase.ts"
import { SqliteDialect } from "../../src/store/sqlite/SqliteDialect.ts"
import * as SqliteWorkerClient from "../../src/store/sqlite/SqliteWorkerClient.ts"
import { id } from "./contract.ts"

const tempFile = Effect.map(
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-sqlite-worker-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ),
  (dir) => join(dir, "bot.sqlite")
)

const workerClient = (filename: string) => SqliteWorkerClient.layer({ filename, busyTimeout: "1 second" })

/** A statement that keeps SQLite busy for a while: a recursive CTE counting to `n`. */
const count = (sql: SqlClient.SqlClient, n: number) =>
  Effect.map(
    sql`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${n}) SELECT count(*) AS n FROM c`,
    (rows) => rows[0]?.["n"]
  )

/**
 * Runs the effect with a callback queued on the event loop just before it starts; returns the
 * effect's result and whether the callback ran before the effect ended (the loop kept turning).
 */
const loopTurnedDuring = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    let turned = false
    const queued = setImmediate(() => (turned = true))
    const result = yield* Effect.ensuring(effect, Effect.sync(() => clearImmediate(queued)))
    return { result, turnedBeforeEnd: turned }
  })

/**
 * A transaction of another fiber that inserts `x`, then stays open until `release` and rolls
 * back; returned once its insert is done.
 */
const openTransaction = (sql: SqlClient.SqlClient, x: number) =>
  Effect.gen(function*() {
    const inserted = yield* Deferred.make<void>()
    const released = yield* Deferred.make<void>()
    const fiber = yield* Effect.fork(sql.withTransaction(
      Effect.gen(function*() {
        yield* sql`INSERT INTO t (x) VALUES (${x})`
        yield* Deferred.succeed(inserted, undefined)
        yield* Deferred.await(released)
        return yield* Effect.fail("roll back" as const)
      })
    ))
    yield* Deferred.await(inserted)
    return { fiber, release: Deferred.succeed(released, undefined) }
  })

/** Forks `effect` and returns its fiber once it has stopped running: waiting (on the connection, the worker) or done. */
const forkUntilWaiting = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fiber = yield* Effect.fork(effect)
    while (FiberStatus.isRunning(yield* fiber.status)) yield* Effect.yieldNow()
    return fiber
  })

const stoppedMessage = (e: SqlError.SqlError) => ({ tag: e._tag, message: e.message, cause: String(e.cause) })

describe("SQLite in a worker thread", () => {
  it.scopedLive("the event loop keeps turning while the worker runs a long statement; in-thread it stops", () =>
    Effect.gen(function*() {
      const n = 3_000_000
      const inWorker = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => loopTurnedDuring(count(sql, n))).pipe(
        Effect.provide(workerClient(":memory:"))
      )
      const inThread = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => loopTurnedDuring(count(sql, n))).pipe(
        Effect.provide(SqliteClient.layer({ filename: ":memory:" }))
      )
      expect(inWorker.result).toBe(n)
      expect(inThread.result).toBe(n)
      // The statement takes hundreds of milliseconds: in the worker case the queued callback runs
      // while it does (the answer comes back as a later event); better-sqlite3 holds the main
      // thread until the statement ends, so the callback can only run after.
      expect(inWorker.turnedBeforeEnd).toBe(true)
      expect(inThread.turnedBeforeEnd).toBe(false)
    }), 30_000)

  it.scopedLive("a worker that dies fails the statements waiting on it with a SqlError; the next statement gets a new worker", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      yield* Effect.gen(function*() {
        const client = yield* SqliteWorkerClient.SqliteWorkerClient
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (x INTEGER)`
        yield* sql`INSERT INTO t (x) VALUES (${1})`
        const long = yield* forkUntilWaiting(count(sql, 2_000_000))
        yield* client.terminateWorker
        const error = yield* Effect.flip(Fiber.join(long))
        expect(stoppedMessage(error)).toEqual({
          tag: "SqlError",
          message: "The SQLite worker stopped",
          cause: expect.stringContaining("the SQLite worker stopped: exit code 1")
        })
        // A new worker opens the same file: what was committed is there.
        expect(yield* sql`SELECT x FROM t`).toEqual([{ x: 1 }])
      }).pipe(Effect.provide(workerClient(path)))
    }), 30_000)

  it.scopedLive("through the stores, a dead worker is a StoreError of the operation", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      const layer = Layer.provideMerge(
        ClientStoreSql,
        Layer.effectDiscard(migrateSqlite).pipe(Layer.provideMerge(Layer.provideMerge(SqliteDialect, workerClient(path))))
      )
      yield* Effect.gen(function*() {
        const client = yield* SqliteWorkerClient.SqliteWorkerClient
        const clients = yield* ClientStore
        yield* clients.getOrCreate({ id: id(6021488832), firstName: "Anna" })
        const long = yield* forkUntilWaiting(count(client, 2_000_000))
        // Queued behind the long statement in the same worker.
        const get = yield* forkUntilWaiting(clients.get(id(6021488832)))
        yield* client.terminateWorker
        yield* Effect.flip(Fiber.join(long))
        const error = yield* Effect.flip(Fiber.join(get))
        expect(error._tag).toBe("StoreError")
        expect(error.operation).toBe("get")
        expect(error.message).toContain("the SQLite worker stopped")
        expect(error.retryable).toBe(false)
        // The next call runs on a new worker.
        expect(Option.map(yield* clients.get(id(6021488832)), (c) => c.firstName)).toEqual(Option.some("Anna"))
      }).pipe(Effect.provide(layer))
    }), 30_000)

  it.scopedLive("the SQL stores send every statement through the worker client's run, its direct path with tracing off", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      const statements: Array<string> = []
      // The worker client with its `run` recorded: the dialect reads it from the context.
      const recorded = Layer.map(workerClient(path), (context) => {
        const client = Context.get(context, SqliteWorkerClient.SqliteWorkerClient)
        const run: typeof client.run = (statement) => {
          statements.push(statement.compile()[0].trim().split(/\s+/)[0] ?? "")
          return client.run(statement)
        }
        const withRun = new Proxy(client, { get: (target, key) => (key === "run" ? run : Reflect.get(target, key)) })
        return Context.add(context, SqliteWorkerClient.SqliteWorkerClient, withRun)
      })
      const layer = Layer.mergeAll(StoresOnSql, InstanceLeaseSql).pipe(
        Layer.provideMerge(Layer.effectDiscard(migrateSqlite).pipe(Layer.provideMerge(Layer.provideMerge(SqliteDialect, recorded))))
      )
      yield* Effect.gen(function*() {
        // Effect-valued operations (`pendingCount`, `lastUpdateId`) made theirs when the stores were built.
        expect(statements.splice(0)).toEqual(["SELECT", "SELECT"])
        const chat = id(6021488832)
        // A new client: read, write, read again; then a known one: one read.
        yield* (yield* ClientStore).getOrCreate({ id: chat, firstName: "Anna" })
        yield* (yield* ClientStore).getOrCreate({ id: chat, firstName: "Anna" })
        expect(statements.splice(0)).toEqual(["SELECT", "INSERT", "SELECT", "SELECT"])
        const history = yield* HistoryStore
        yield* history.append({ chatId: chat, updateId: id(1), role: "user", text: "hi", at: 1 })
        expect(yield* history.lastN(chat, 10)).toHaveLength(1)
        const inbox = yield* Inbox
        expect(yield* inbox.record({ updateId: id(1), chatId: chat, payload: "{}" })).toBe("New")
        yield* inbox.markDone(id(1))
        yield* (yield* ConversationState).put("k", "v")
        expect(Option.isNone(yield* (yield* InstanceLease).acquire("1@h#00000001", Duration.seconds(30)))).toBe(true)
        expect(statements).toEqual(["INSERT", "SELECT", "INSERT", "UPDATE", "INSERT", "INSERT"])
      }).pipe(Effect.withTracerEnabled(false), Effect.provide(layer))
    }), 30_000)

  it.scoped("SqliteDatabase gives the stores the worker's direct path; in-thread, statements run as they are", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      const [worker, dialect] = yield* Effect.all([Effect.serviceOption(SqliteWorkerClient.SqliteWorkerClient), SqlDialect]).pipe(
        Effect.provide(SqliteDatabase({ path, busyTimeout: "1 second" }))
      )
      expect(Option.map(worker, (client) => client.run === dialect.run)).toEqual(Option.some(true))
      const inThread = yield* Effect.all([Effect.serviceOption(SqliteWorkerClient.SqliteWorkerClient), SqlDialect]).pipe(
        Effect.provide(SqliteDatabase({ path, busyTimeout: "1 second", worker: false }))
      )
      expect(Option.isNone(inThread[0])).toBe(true)
      const sql = yield* SqlClient.SqlClient.pipe(Effect.provide(SqliteClient.layer({ filename: ":memory:" })))
      const statement = sql`SELECT 1 AS one`
      expect(inThread[1].run(statement)).toBe(statement)
    }), 30_000)

  it.scopedLive("a transaction commits, or rolls back when it fails; other statements wait for it", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      yield* Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (x INTEGER PRIMARY KEY)`
        yield* sql.withTransaction(Effect.all([sql`INSERT INTO t (x) VALUES (${1})`, sql`INSERT INTO t (x) VALUES (${2})`]))
        const failed = yield* sql.withTransaction(
          Effect.gen(function*() {
            yield* sql`INSERT INTO t (x) VALUES (${3})`
            // A duplicate key: the transaction fails and nothing of it stays.
            yield* sql`INSERT INTO t (x) VALUES (${1})`
          })
        ).pipe(Effect.flip)
        expect(failed.cause).toMatchObject({ code: "SQLITE_CONSTRAINT_PRIMARYKEY" })
        const aborted = yield* sql.withTransaction(
          Effect.zipRight(sql`INSERT INTO t (x) VALUES (${4})`, Effect.fail("changed my mind" as const))
        ).pipe(Effect.flip)
        expect(aborted).toBe("changed my mind")
        expect(yield* sql`SELECT x FROM t ORDER BY x`).toEqual([{ x: 1 }, { x: 2 }])

        // A statement outside the transaction does not see its writes, nor run inside it.
        const inside = yield* openTransaction(sql, 5)
        const outside = yield* forkUntilWaiting(sql`SELECT count(*) AS n FROM t`)
        yield* inside.release
        expect(yield* Fiber.join(outside)).toEqual([{ n: 2 }])
        expect(yield* Effect.flip(Fiber.join(inside.fiber))).toBe("roll back")
      }).pipe(Effect.provide(workerClient(path)))
    }), 30_000)

  it.scopedLive("run: a statement's rows straight from the worker; inside a transaction it is the transaction's, beside one it waits", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      yield* Effect.gen(function*() {
        const client = yield* SqliteWorkerClient.SqliteWorkerClient
        const sql = yield* SqlClient.SqlClient
        // The direct path is taken with tracing off (as the bot runs without a collector).
        const direct = <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withTracerEnabled(effect, false)
        yield* sql`CREATE TABLE t (x INTEGER PRIMARY KEY, s TEXT)`
        yield* direct(client.run(sql`INSERT INTO t (x, s) VALUES (${1}, ${"one"})`))
        expect(yield* direct(client.run(sql`SELECT x, s FROM t`))).toEqual([{ x: 1, s: "one" }])
        const duplicate = yield* direct(client.run(sql`INSERT INTO t (x) VALUES (${1})`)).pipe(Effect.flip)
        expect(duplicate.cause).toMatchObject({ code: "SQLITE_CONSTRAINT_PRIMARYKEY" })

        // Inside a transaction: it sees the transaction's writes and goes with its rollback.
        const seen = yield* sql.withTransaction(
          Effect.gen(function*() {
            yield* direct(client.run(sql`INSERT INTO t (x) VALUES (${2})`))
            return yield* Effect.fail(yield* direct(client.run(sql`SELECT count(*) AS n FROM t`)))
          })
        ).pipe(Effect.flip)
        expect(seen).toEqual([{ n: 2 }])
        expect(yield* direct(client.run(sql`SELECT x FROM t`))).toEqual([{ x: 1 }])

        // Beside another fiber's open transaction: it waits, and is not rolled back with it.
        const other = yield* openTransaction(sql, 5)
        const beside = yield* forkUntilWaiting(direct(client.run(sql`INSERT INTO t (x) VALUES (${6})`)))
        yield* other.release
        yield* Fiber.join(beside)
        expect(yield* Effect.flip(Fiber.join(other.fiber))).toBe("roll back")
        expect(yield* direct(client.run(sql`SELECT x FROM t ORDER BY x`))).toEqual([{ x: 1 }, { x: 6 }])

        // With tracing on, a statement keeps its @effect/sql span.
        const names: Array<string> = []
        const native = yield* Effect.tracer
        const recording = Tracer.make({
          span: (name, ...rest) => {
            names.push(name)
            return native.span(name, ...rest)
          },
          context: native.context
        })
        expect(yield* client.run(sql`SELECT count(*) AS n FROM t`).pipe(Effect.withTracer(recording), Effect.withTracerEnabled(true)))
          .toEqual([{ n: 2 }])
        expect(names).toContain("sql.execute")
      }).pipe(Effect.provide(workerClient(path)))
    }), 30_000)

  it.scopedLive("a worker that dies inside a transaction fails the transaction with a SqlError; its writes are gone", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      yield* Effect.gen(function*() {
        const client = yield* SqliteWorkerClient.SqliteWorkerClient
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (x INTEGER)`
        const error = yield* sql.withTransaction(
          Effect.gen(function*() {
            yield* sql`INSERT INTO t (x) VALUES (${1})`
            yield* client.terminateWorker
            yield* sql`INSERT INTO t (x) VALUES (${2})`
          })
        ).pipe(Effect.flip)
        expect(stoppedMessage(error)).toEqual({
          tag: "SqlError",
          message: "The SQLite worker stopped",
          cause: expect.stringContaining("the SQLite worker stopped")
        })
        expect(yield* sql`SELECT x FROM t`).toEqual([])
      }).pipe(Effect.provide(workerClient(path)))
    }), 30_000)

  it.scoped("values, raw results, 64-bit integers and SQLite error codes come back as with the in-thread client", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)`
      const raw = yield* sql`INSERT INTO t (id, name) VALUES (${6021488832}, ${"Anna"})`.raw
      expect(raw).toEqual({ changes: 1, lastInsertRowid: 6021488832 })
      expect(yield* sql`SELECT id, name FROM t`.values).toEqual([[6021488832, "Anna"]])
      const big = yield* sql`SELECT ${9007199254740993n} AS v`.pipe(Effect.provideService(SqlClient.SafeIntegers, true))
      expect(big).toEqual([{ v: 9007199254740993n }])
      const error = yield* Effect.flip(sql`INSERT INTO t (id, name) VALUES (${6021488832}, ${"Ben"})`)
      expect(error.message).toBe("Failed to execute statement")
      expect(error.cause).toMatchObject({ message: "UNIQUE constraint failed: t.id", code: "SQLITE_CONSTRAINT_PRIMARYKEY" })
      const syntax = yield* Effect.flip(sql.unsafe("SELEKT 1"))
      expect(syntax.message).toBe("Failed to prepare statement")
      expect(syntax.cause).toMatchObject({ code: "SQLITE_ERROR" })
    }).pipe(Effect.provide(workerClient(":memory:"))))

  it.scoped("statements of concurrent fibers go to the worker in one message and each gets its own answer", () =>
    Effect.gen(function*() {
      const sql = yield* SqlClient.SqlClient
      yield* sql`CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT)`
      yield* sql`INSERT INTO t (id, name) VALUES (${100}, ${"first"})`
      // Every message to the worker, still sent.
      const spy = vi.spyOn(Worker.prototype, "postMessage")
      yield* Effect.addFinalizer(() => Effect.sync(() => spy.mockRestore()))
      const inserts = Array.from({ length: 20 }, (_, i) => sql`INSERT INTO t (id, name) VALUES (${i}, ${`n${i}`}) RETURNING id`)
      // One of them is refused by SQLite, one cannot be copied to the worker: each fails alone.
      const duplicate = sql`INSERT INTO t (id, name) VALUES (${100}, ${"again"})`
      const uncopyable = sql`SELECT ${new WeakMap() as unknown as string} AS v`
      const [rows, refused, notSent] = yield* Effect.all([
        Effect.all(inserts, { concurrency: "unbounded" }),
        Effect.flip(duplicate),
        Effect.flip(uncopyable)
      ], { concurrency: "unbounded" })
      expect(rows.map((r) => r[0]?.["id"])).toEqual(Array.from({ length: 20 }, (_, i) => i))
      expect(refused.cause).toMatchObject({ code: "SQLITE_CONSTRAINT_PRIMARYKEY" })
      expect(notSent.message).toBe("Failed to send the statement to the SQLite worker")
      // 22 statements, far fewer messages (a batch that cannot be sent is sent again one by one).
      const batches = spy.mock.calls.filter(([m]) => (m as { _tag?: string })._tag === "Batch")
      expect(batches.length).toBeGreaterThan(0)
      expect(spy.mock.calls.length - batches.length).toBeLessThan(22)
      expect(yield* sql`SELECT count(*) AS n FROM t`).toEqual([{ n: 21 }])
    }).pipe(Effect.provide(workerClient(":memory:"))))

  it.scoped("closing the layer closes the database in the worker (the WAL is checkpointed and removed)", () =>
    Effect.gen(function*() {
      const path = yield* tempFile
      yield* Effect.scoped(Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE t (x INTEGER)`
        yield* sql`INSERT INTO t (x) VALUES (${1})`
        expect(existsSync(`${path}-wal`)).toBe(true)
      }).pipe(Effect.provide(workerClient(path))))
      expect(existsSync(`${path}-wal`)).toBe(false)
      const after = yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`SELECT x FROM t`).pipe(Effect.provide(workerClient(path)))
      expect(after).toEqual([{ x: 1 }])
    }))
})
