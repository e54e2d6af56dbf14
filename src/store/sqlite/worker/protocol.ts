/**
 * Messages between the SQLite client on the main thread and the worker thread that owns the
 * database. Types and plain functions only: the worker loads nothing but this module and
 * better-sqlite3, so it starts fast. The client decodes every reply with Schema
 * (`../SqliteWorkerClient.ts`); the worker checks each request's shape before running it.
 */

/** What the worker opens, passed as its `workerData`. */
export interface WorkerOptions {
  readonly filename: string
  readonly busyTimeoutMillis: number
}

/**
 * How a statement runs: `rows` returns the rows of a reader and `[]` otherwise, `raw` returns
 * better-sqlite3's `{ changes, lastInsertRowid }` for a writer, `values` returns rows as arrays,
 * `unprepared` is `rows` without the prepared-statement cache.
 */
export type Mode = "rows" | "raw" | "values" | "unprepared"
export const modes: ReadonlyArray<Mode> = ["rows", "raw", "values", "unprepared"]

export interface Run {
  readonly _tag: "Run"
  readonly id: number
  readonly mode: Mode
  readonly sql: string
  readonly params: ReadonlyArray<unknown>
  readonly safeIntegers: boolean
}

/**
 * Several `Run`s sent in one message (the statements of concurrent fibers posted in the same
 * turn of the event loop), run in their order and answered with one `Replies`: a message
 * between threads costs more than most statements here.
 */
export interface Batch {
  readonly _tag: "Batch"
  readonly runs: ReadonlyArray<unknown>
}

/** Close the database (checkpointing the WAL) and end the thread. */
export interface Close {
  readonly _tag: "Close"
}

export type Request = Run | Batch | Close

/** A failure of SQLite: its message and, when it has one, its code (`SQLITE_BUSY`, …). */
export interface Failure {
  readonly message: string
  readonly code?: string
}

/** The database is open and configured: the worker takes requests. */
export interface Ready {
  readonly _tag: "Ready"
}

/** The database could not be opened; the worker ends. */
export interface OpenFailed extends Failure {
  readonly _tag: "OpenFailed"
}

export interface Succeeded {
  readonly _tag: "Succeeded"
  readonly id: number
  readonly result: unknown
}

export interface Failed extends Failure {
  readonly _tag: "Failed"
  readonly id: number
  readonly stage: "prepare" | "execute"
}

/** The answers of a `Batch`, in its order. */
export interface Replies {
  readonly _tag: "Replies"
  readonly replies: ReadonlyArray<Succeeded | Failed>
}

export type Reply = Ready | OpenFailed | Succeeded | Failed | Replies

/** The code of a better-sqlite3 error (`SQLITE_CONSTRAINT_PRIMARYKEY`, …), if it has one. */
export const sqliteCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

export const failureOf = (cause: unknown): Failure => {
  const message = cause instanceof Error ? cause.message : String(cause)
  const code = sqliteCode(cause)
  return code === undefined ? { message } : { message, code }
}
