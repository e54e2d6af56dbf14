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
 *   statements wait for it (only then: with no transaction open or waiting, a statement takes
 *   the connection without the semaphore).
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
import { SqlClient, type SqlConnection, type SqlError, Statement } from "@effect/sql"
import { Context, Duration, Effect, FiberRef, Layer, Option, Scope, Stream } from "effect"
import { isStopped, send, sqlError, start, stop, stoppedError, terminate, type WorkerHandle } from "./SqliteWorker.ts"
import type { WorkerOptions } from "./worker/protocol.ts"

export { SqliteWorkerFailure } from "./SqliteWorker.ts"

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
  /**
   * Runs a statement's rows query straight on the worker when nothing stands in the way: no
   * transaction open or waiting (so none around this fiber either), no row transformer, tracing
   * off. Otherwise it runs as the @effect/sql statement it is (its span, its transaction). The
   * statement path costs some fifty runtime steps (a span, a scope, the connection's
   * acquisition) on every statement of every update (issue 15).
   */
  readonly run: <A extends object>(statement: Statement.Statement<A>) => Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>
}

export class SqliteWorkerClient extends Context.Tag("dialog-bot/SqliteWorkerClient")<SqliteWorkerClient, SqliteWorkerClientService>() {}

/** The statements @effect/sql sends to end a transaction, or a savepoint, without its writes. */
const rollback = /^\s*ROLLBACK\b/i

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

    /** The connection of the live worker, made once per worker. */
    let connection: { readonly handle: WorkerHandle; readonly connection: SqlConnection.Connection } | undefined
    const connectionFor = (handle: WorkerHandle) => {
      if (connection?.handle !== handle) connection = { handle, connection: connectionOf(handle) }
      return connection.connection
    }
    // Transactions holding the connection or waiting for it. A statement outside a transaction
    // waits for the permit only while there is one: otherwise it takes the live worker's
    // connection at once (a semaphore's permit taken and given back is a dozen runtime steps,
    // on every statement; issue 15).
    let transactions = 0
    const acquirer = Effect.suspend(() =>
      transactions === 0 && !closed && Option.isNone(current.stopped)
        ? Effect.succeed(connectionFor(current))
        : semaphore.withPermits(1)(Effect.map(live, connectionFor))
    )
    const transactionAcquirer = Effect.uninterruptibleMask((restore) =>
      Effect.gen(function*() {
        const scope = yield* Effect.scope
        transactions++
        // Added first, so run last: after the permit is given back.
        yield* Scope.addFinalizer(scope, Effect.sync(() => transactions--))
        yield* restore(semaphore.take(1))
        const handle = yield* restore(live).pipe(Effect.onError(() => semaphore.release(1)))
        yield* Scope.addFinalizer(scope, semaphore.release(1))
        return connectionFor(handle)
      })
    )

    const client = yield* SqlClient.make({
      acquirer,
      transactionAcquirer,
      compiler: Statement.makeCompilerSqlite(),
      spanAttributes: [["db.system.name", "sqlite"]]
    })

    const terminateWorker = Effect.suspend(() => terminate(current))

    const run = <A extends object>(statement: Statement.Statement<A>): Effect.Effect<ReadonlyArray<A>, SqlError.SqlError> =>
      Effect.withFiberRuntime((fiber) => {
        if (
          transactions !== 0 || closed || Option.isSome(current.stopped) ||
          fiber.getFiberRef(FiberRef.currentTracerEnabled) ||
          Option.isSome(fiber.getFiberRef(Statement.currentTransformer))
        ) return statement
        const [sql, params] = statement.compile()
        return rows(send(current, "rows", sql, params), undefined) as Effect.Effect<ReadonlyArray<A>, SqlError.SqlError>
      })

    return Object.assign(client, { config: options, terminateWorker, run })
  })

/** `SqlClient` and `SqliteWorkerClient` on one worker-owned connection. */
export const layer = (options: SqliteWorkerOptions): Layer.Layer<SqlClient.SqlClient | SqliteWorkerClient, SqlError.SqlError> =>
  Layer.scopedContext(
    Effect.map(make(options), (client) => Context.make(SqliteWorkerClient, client).pipe(Context.add(SqlClient.SqlClient, client)))
  ).pipe(Layer.provide(Reactivity.layer))
