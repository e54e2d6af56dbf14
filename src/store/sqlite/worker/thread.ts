/**
 * The SQLite worker thread: owns the better-sqlite3 connection and runs one statement at a
 * time, in the order the requests arrive, so the main thread's event loop never waits on SQLite.
 *
 * At start it opens `workerData.filename` in WAL mode with the busy timeout and
 * `synchronous=NORMAL`, then answers `Ready`, or `OpenFailed` (message and SQLite code) and ends.
 * Each `Run` is answered with `Succeeded` (rows, row arrays or the run result) or `Failed` (the
 * stage, SQLite's message and code); a `Batch` of runs is run in its order and answered with one
 * `Replies`. Prepared statements are cached by their SQL text. `Close`
 * closes the database, which checkpoints the WAL, and lets the thread end.
 *
 * It imports nothing but better-sqlite3 and the protocol (no effect runtime), so a worker is
 * ready in a few tens of milliseconds. Started through `boot.mjs`; the other side is
 * `../SqliteWorkerClient.ts`.
 */
import Database, { type Database as Connection, type Statement } from "better-sqlite3"
import { type MessagePort, parentPort, workerData } from "node:worker_threads"
import {
  type Failed,
  type Failure,
  failureOf,
  type Mode,
  modes,
  type Reply,
  type Request,
  type Run,
  type Succeeded,
  type WorkerOptions
} from "./protocol.ts"

/** Prepared statements kept, least recently used dropped first (as @effect/sql-sqlite-node). */
const cacheCapacity = 200

type Attempt<A> = { readonly ok: true; readonly value: A } | { readonly ok: false; readonly failure: Failure }

/** Runs a better-sqlite3 call; what it throws becomes a Failure (message and SQLite code). */
const attempt = <A>(f: () => A): Attempt<A> => {
  try {
    return { ok: true, value: f() }
  } catch (cause: unknown) {
    return { ok: false, failure: failureOf(cause) }
  }
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === "object" && u !== null

const asOptions = (u: unknown): WorkerOptions | undefined =>
  isRecord(u) && typeof u.filename === "string" && typeof u.busyTimeoutMillis === "number" && Number.isInteger(u.busyTimeoutMillis) &&
    u.busyTimeoutMillis >= 0
    ? { filename: u.filename, busyTimeoutMillis: u.busyTimeoutMillis }
    : undefined

const asRequest = (u: unknown): Request | undefined => {
  if (!isRecord(u)) return undefined
  if (u._tag === "Close") return { _tag: "Close" }
  if (u._tag === "Batch") return Array.isArray(u.runs) ? { _tag: "Batch", runs: u.runs } : undefined
  const mode = modes.find((m) => m === u.mode)
  return u._tag === "Run" && typeof u.id === "number" && mode !== undefined && typeof u.sql === "string" &&
      Array.isArray(u.params) && typeof u.safeIntegers === "boolean"
    ? { _tag: "Run", id: u.id, mode, sql: u.sql, params: u.params, safeIntegers: u.safeIntegers }
    : undefined
}

const open = (options: WorkerOptions): Attempt<Connection> =>
  attempt(() => {
    const db = new Database(options.filename)
    db.pragma("journal_mode = WAL")
    // PRAGMA takes no bound parameters; this is a non-negative integer (checked above).
    db.pragma(`busy_timeout = ${options.busyTimeoutMillis}`)
    db.pragma("synchronous = NORMAL")
    return db
  })

/** better-sqlite3 binds blobs from Buffers; a Buffer arrives here as a plain Uint8Array. */
const bindable = (params: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  params.map((p) => (p instanceof Uint8Array && !Buffer.isBuffer(p) ? Buffer.from(p.buffer, p.byteOffset, p.byteLength) : p))

const execute = (statement: Statement, mode: Mode, params: ReadonlyArray<unknown>): Attempt<unknown> => {
  switch (mode) {
    case "rows":
    case "unprepared":
      return attempt(() => (statement.reader ? statement.all(...params) : (statement.run(...params), [])))
    case "raw":
      return attempt(() => (statement.reader ? statement.all(...params) : statement.run(...params)))
    case "values": {
      if (!statement.reader) return attempt(() => (statement.run(...params), []))
      statement.raw(true)
      const rows = attempt(() => statement.all(...params))
      statement.raw(false)
      return rows
    }
  }
}

const serve = (port: MessagePort, db: Connection) => {
  const cache = new Map<string, Statement>()

  const prepare = (sql: string, cached: boolean): Attempt<Statement> => {
    const hit = cached ? cache.get(sql) : undefined
    if (hit !== undefined) {
      cache.delete(sql)
      cache.set(sql, hit)
      return { ok: true, value: hit }
    }
    const prepared = attempt(() => db.prepare(sql))
    if (prepared.ok && cached) {
      cache.set(sql, prepared.value)
      const oldest = cache.size > cacheCapacity ? cache.keys().next() : undefined
      if (oldest !== undefined && oldest.done !== true) cache.delete(oldest.value)
    }
    return prepared
  }

  const malformed = (message: unknown): Failed => ({
    _tag: "Failed",
    id: isRecord(message) && typeof message.id === "number" ? message.id : -1,
    stage: "prepare",
    message: "a malformed request reached the SQLite worker"
  })

  /** Runs one statement and tells how it went. */
  const run = (request: Run): Succeeded | Failed => {
    const statement = prepare(request.sql, request.mode !== "unprepared")
    if (!statement.ok) return { _tag: "Failed", id: request.id, stage: "prepare", ...statement.failure }
    const result = attempt(() => statement.value.safeIntegers(request.safeIntegers))
    const outcome = result.ok ? execute(statement.value, request.mode, bindable(request.params)) : result
    return outcome.ok
      ? { _tag: "Succeeded", id: request.id, result: outcome.value }
      : { _tag: "Failed", id: request.id, stage: "execute", ...outcome.failure }
  }

  port.on("message", (message: unknown) => {
    const request = asRequest(message)
    if (request === undefined) {
      port.postMessage(malformed(message) satisfies Reply)
      return
    }
    switch (request._tag) {
      case "Close":
        cache.clear()
        attempt(() => db.close())
        port.close()
        return
      case "Batch": {
        const replies = request.runs.map((one) => {
          const r = asRequest(one)
          return r?._tag === "Run" ? run(r) : malformed(one)
        })
        port.postMessage({ _tag: "Replies", replies } satisfies Reply)
        return
      }
      case "Run":
        port.postMessage(run(request) satisfies Reply)
    }
  })
}

const start = (port: MessagePort) => {
  const options = asOptions(workerData)
  if (options === undefined) {
    port.postMessage({ _tag: "OpenFailed", message: "the SQLite worker was started without valid options" } satisfies Reply)
    port.close()
    return
  }
  const db = open(options)
  if (!db.ok) {
    port.postMessage({ _tag: "OpenFailed", ...db.failure } satisfies Reply)
    port.close()
    return
  }
  serve(port, db.value)
  port.postMessage({ _tag: "Ready" } satisfies Reply)
}

if (parentPort !== null) start(parentPort)
