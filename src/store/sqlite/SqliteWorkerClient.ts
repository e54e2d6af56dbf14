/**
 * An @effect/sql `SqlClient` whose SQLite connection lives in a worker thread, so that no
 * statement ever runs on the main thread's event loop.
 *
 * The worker (`worker/thread.ts`) owns the better-sqlite3 database: it opens the file in WAL
 * mode with the busy timeout and `synchronous=NORMAL`, caches prepared statements and runs one
 * statement at a time, in the order they are sent. The client compiles statements with
 * @effect/sql's SQLite compiler, posts `{ id, sql, params }` to the worker and resumes the fiber
 * on the reply; a failure comes back as a `SqlError` whose cause carries SQLite's message and
 * code (`SQLITE_BUSY`, `SQLITE_CONSTRAINT_PRIMARYKEY`, …), as with the in-thread client.
 *
 * - **One connection.** As in @effect/sql-sqlite-node, a semaphore of one permit guards it: a
 *   transaction (`sql.withTransaction`) holds the permit until it commits or rolls back, other
 *   statements wait for it.
 * - **Interruption.** Interrupting a fiber stops it waiting, not the statement: a statement
 *   already posted still runs in the worker (SQLite statements here are short) and its reply is
 *   dropped. The worker runs requests in order, so a `ROLLBACK` sent after an interrupted
 *   statement runs after it.
 * - **A worker that dies** (an uncaught error, `terminateWorker`) fails every statement waiting
 *   on it with a `SqlError` ("the SQLite worker stopped: …"), and so does every later statement
 *   of a transaction that was open on it: the transaction fails with that error and its writes
 *   are gone (an uncommitted transaction dies with its connection; the `ROLLBACK` @effect/sql
 *   then sends succeeds, as nothing is left to roll back). The next statement outside a
 *   transaction starts a new worker on the same file, with a warning in the log; if the file
 *   cannot be opened any more, that statement fails with the reason. A worker stopping between
 *   a transaction's last statement and its `COMMIT` is a defect, as every failed commit is in
 *   @effect/sql. Terminating a worker takes effect when its current statement returns (SQLite
 *   cannot be interrupted from JavaScript).
 * - **Scope.** The worker is a scoped resource: when the layer closes, the worker closes the
 *   database (checkpointing the WAL) and ends; one that does not end within 5 seconds (a
 *   statement still running) is terminated.
 *
 * `executeStream` is not supported (nothing in the stores streams).
 */
import * as Reactivity from "@effect/experimental/Reactivity"
import { SqlClient, type SqlConnection, SqlError, Statement } from "@effect/sql"
import { Context, Data, Duration, Effect, Either, Layer, Option, Schema, Scope, Stream } from "effect"
import { Worker } from "node:worker_threads"
import { type Close, failureOf, type Mode, type Reply, type Run, type WorkerOptions } from "./worker/protocol.ts"

/** What SQLite (or the worker) reported: the `cause` of the `SqlError`s of this client. */
export class SqliteWorkerFailure extends Data.TaggedError("SqliteWorkerFailure")<{
  readonly message: string
  readonly code?: string | undefined
}> {}

export interface SqliteWorkerOptions {
  /** File path, or `:memory:` (a database private to the worker). */
  readonly filename: string
  readonly busyTimeout: Duration.DurationInput
}

export interface SqliteWorkerClientService extends SqlClient.SqlClient {
  readonly config: SqliteWorkerOptions
  /**
   * Terminates the worker thread at once, as a crash would. Statements waiting on it fail; the
   * next statement outside a transaction starts a new worker. For tests and diagnostics.
   */
  readonly terminateWorker: Effect.Effect<void>
}

export class SqliteWorkerClient extends Context.Tag("dialog-bot/SqliteWorkerClient")<SqliteWorkerClient, SqliteWorkerClientService>() {}

/** How long a closing worker may take to finish its statement and close the database. */
const closeTimeout = Duration.seconds(5)

const bootUrl = new URL("./worker/boot.mjs", import.meta.url)

/** One worker thread and the requests waiting on it. */
interface WorkerHandle {
  readonly worker: Worker
  readonly pending: Map<number, (result: Effect.Effect<unknown, SqlError.SqlError>) => void>
  /** Why the worker is gone, once it is. */
  stopped: Option.Option<string>
}

const sqlError = (message: string, failure: { readonly message: string; readonly code?: string | undefined }) =>
  new SqlError.SqlError({ message, cause: new SqliteWorkerFailure(failure) })

const stoppedError = (reason: string) =>
  sqlError("The SQLite worker stopped", { message: `the SQLite worker stopped: ${reason}`, code: "SQLITE_WORKER_STOPPED" })

const failureFields = { message: Schema.String, code: Schema.optionalWith(Schema.String, { exact: true }) }

/** A message from the worker. */
const ReplySchema: Schema.Schema<Reply> = Schema.Union(
  Schema.TaggedStruct("Ready", {}),
  Schema.TaggedStruct("OpenFailed", failureFields),
  Schema.TaggedStruct("Succeeded", { id: Schema.Number, result: Schema.Unknown }),
  Schema.TaggedStruct("Failed", { id: Schema.Number, stage: Schema.Literal("prepare", "execute"), ...failureFields })
)
const isStopped = (error: SqlError.SqlError): boolean =>
  error.cause instanceof SqliteWorkerFailure && error.cause.code === "SQLITE_WORKER_STOPPED"

/** The statements @effect/sql sends to end a transaction, or a savepoint, without its writes. */
const rollback = /^\s*ROLLBACK\b/i

const decodeReply = Schema.decodeUnknownEither(ReplySchema)

/** Starts a worker on the file; succeeds once the database is open and configured. */
const start = (options: WorkerOptions): Effect.Effect<WorkerHandle, SqlError.SqlError> =>
  Effect.async<WorkerHandle, SqlError.SqlError>((resume) => {
    const created = Either.try({
      try: () => new Worker(bootUrl, { workerData: options }),
      catch: (cause) => sqlError("Failed to start the SQLite worker", failureOf(cause))
    })
    if (Either.isLeft(created)) {
      resume(Effect.fail(created.left))
      return
    }
    const worker = created.right
    const handle: WorkerHandle = { worker, pending: new Map(), stopped: Option.none() }
    let settled = false
    const settle = (result: Effect.Effect<WorkerHandle, SqlError.SqlError>) => {
      if (settled) return
      settled = true
      resume(result)
    }
    let lastError: string | undefined
    worker.on("message", (message: unknown) => {
      const reply = decodeReply(message)
      if (Either.isLeft(reply)) {
        // Nothing would answer the waiting statements: end the worker, which fails them.
        lastError = "it sent a malformed reply"
        void worker.terminate()
        return
      }
      const r = reply.right
      switch (r._tag) {
        case "Ready":
          settle(Effect.succeed(handle))
          return
        case "OpenFailed":
          settle(Effect.fail(sqlError("Failed to open the database", r)))
          return
        case "Succeeded":
        case "Failed": {
          const waiting = handle.pending.get(r.id)
          if (waiting === undefined) return // its fiber was interrupted
          handle.pending.delete(r.id)
          waiting(
            r._tag === "Succeeded"
              ? Effect.succeed(r.result)
              : Effect.fail(sqlError(r.stage === "prepare" ? "Failed to prepare statement" : "Failed to execute statement", r))
          )
          return
        }
      }
    })
    worker.on("error", (error) => {
      lastError = error.message
    })
    worker.on("exit", (code) => {
      const reason = lastError ?? `exit code ${code}`
      handle.stopped = Option.some(reason)
      const waiting = [...handle.pending.values()]
      handle.pending.clear()
      for (const w of waiting) w(Effect.fail(stoppedError(reason)))
      settle(Effect.fail(sqlError("Failed to open the database", { message: `the SQLite worker stopped before the database was open: ${reason}` })))
    })
    return Effect.promise(() => worker.terminate())
  })

/** Asks the worker to close the database and end; terminates it if it does not in time. */
const stop = (handle: WorkerHandle): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (Option.isSome(handle.stopped)) {
      resume(Effect.void)
      return
    }
    handle.worker.once("exit", () => resume(Effect.void))
    handle.worker.postMessage({ _tag: "Close" } satisfies Close)
  }).pipe(
    Effect.timeout(closeTimeout),
    Effect.ignore,
    Effect.zipRight(Effect.ignore(Effect.tryPromise(() => handle.worker.terminate())))
  )

let nextId = 0

/** Sends one statement to the worker and waits for its result. */
const send = (handle: WorkerHandle, mode: Mode, sql: string, params: ReadonlyArray<unknown>): Effect.Effect<unknown, SqlError.SqlError> =>
  Effect.withFiberRuntime((fiber) => {
    const safeIntegers = Context.get(fiber.currentContext, SqlClient.SafeIntegers)
    return Effect.async<unknown, SqlError.SqlError>((resume) => {
      if (Option.isSome(handle.stopped)) {
        resume(Effect.fail(stoppedError(handle.stopped.value)))
        return
      }
      const id = nextId++
      const request: Run = { _tag: "Run", id, mode, sql, params, safeIntegers }
      const posted = Either.try({
        try: () => handle.worker.postMessage(request),
        catch: (cause) => sqlError("Failed to send the statement to the SQLite worker", failureOf(cause))
      })
      if (Either.isLeft(posted)) {
        resume(Effect.fail(posted.left))
        return
      }
      handle.pending.set(id, resume)
      return Effect.sync(() => {
        handle.pending.delete(id)
      })
    })
  })

const asRows = (result: unknown): Effect.Effect<ReadonlyArray<unknown>, SqlError.SqlError> =>
  Array.isArray(result)
    ? Effect.succeed(result)
    : Effect.fail(sqlError("Failed to execute statement", { message: "the SQLite worker answered something other than rows" }))

type TransformRows = (<A extends object>(rows: ReadonlyArray<A>) => ReadonlyArray<A>) | undefined

const rows = (effect: Effect.Effect<unknown, SqlError.SqlError>, transformRows: TransformRows) =>
  Effect.flatMap(effect, (result) =>
    transformRows === undefined
      ? asRows(result)
      : Effect.map(asRows(result), (r) => transformRows(r as ReadonlyArray<object>)))

const connectionOf = (handle: WorkerHandle): SqlConnection.Connection => ({
  execute: (sql, params, transformRows) => rows(send(handle, "rows", sql, params), transformRows),
  executeRaw: (sql, params) => send(handle, "raw", sql, params),
  executeValues: (sql, params) =>
    Effect.flatMap(send(handle, "values", sql, params), asRows) as Effect.Effect<ReadonlyArray<ReadonlyArray<unknown>>, SqlError.SqlError>,
  executeUnprepared: (sql, params, transformRows) =>
    rollback.test(sql)
      // A transaction open on a worker that stopped is gone with it: nothing is left to roll back.
      ? Effect.catchIf(rows(send(handle, "unprepared", sql, params), transformRows), isStopped, () => Effect.succeed([]))
      : rows(send(handle, "unprepared", sql, params), transformRows),
  executeStream: () =>
    Stream.fail(
      sqlError("executeStream is not supported", { message: "the SQLite worker client does not stream rows; use execute" })
    )
})

/** The client; the worker is started now and ends with the scope. */
export const make = (
  options: SqliteWorkerOptions
): Effect.Effect<SqliteWorkerClientService, SqlError.SqlError, Scope.Scope | Reactivity.Reactivity> =>
  Effect.gen(function*() {
    const workerOptions: WorkerOptions = {
      filename: options.filename,
      busyTimeoutMillis: Math.max(0, Math.round(Duration.toMillis(options.busyTimeout)))
    }
    const semaphore = yield* Effect.makeSemaphore(1)
    let current = yield* start(workerOptions)
    let closed = false
    yield* Effect.addFinalizer(() =>
      Effect.suspend(() => {
        closed = true
        return stop(current)
      })
    )

    /** The live worker; a new one if the last one stopped. Run while holding the permit. */
    const live: Effect.Effect<WorkerHandle, SqlError.SqlError> = Effect.suspend(() => {
      if (closed) return Effect.fail(stoppedError("the client is closed"))
      if (Option.isNone(current.stopped)) return Effect.succeed(current)
      const reason = current.stopped.value
      return start(workerOptions).pipe(
        Effect.tap((handle) =>
          Effect.zipRight(
            Effect.sync(() => {
              current = handle
            }),
            Effect.logWarning("the SQLite worker stopped; a new one has opened the database").pipe(
              Effect.annotateLogs({ reason })
            )
          )
        )
      )
    })

    const acquirer = semaphore.withPermits(1)(Effect.map(live, connectionOf))
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        yield* restore(semaphore.take(1))
        const handle = yield* restore(live).pipe(Effect.onError(() => semaphore.release(1)))
        yield* Scope.addFinalizer(yield* Effect.scope, semaphore.release(1))
        return connectionOf(handle)
      })
    )

    const client = yield* SqlClient.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      spanAttributes: [["db.system.name", "sqlite"]]
    })

    const terminateWorker = Effect.async<void>((resume) => {
      const handle = current
      if (Option.isSome(handle.stopped)) {
        resume(Effect.void)
        return
      }
      handle.worker.once("exit", () => resume(Effect.void))
      void handle.worker.terminate()
    })

    return Object.assign(client, { config: options, terminateWorker })
  })

/** `SqlClient` and `SqliteWorkerClient` on one worker-owned connection. */
export const layer = (options: SqliteWorkerOptions): Layer.Layer<SqlClient.SqlClient | SqliteWorkerClient, SqlError.SqlError> =>
  Layer.scopedContext(
    Effect.map(make(options), (client) => Context.make(SqliteWorkerClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  ).pipe(Layer.provide(Reactivity.layer))
