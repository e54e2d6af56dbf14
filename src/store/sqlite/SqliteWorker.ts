/**
 * One worker thread that owns a SQLite database, seen from the main thread: started on a file,
 * sent one statement at a time (each answered by id), stopped or terminated. Every reply is
 * decoded with Schema; a worker that ends fails whatever still waits on it. The client on top
 * (`SqliteWorkerClient`) decides when a new worker is started.
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Context, Data, Duration, Effect, Either, Option, Schema } from "effect"
import { Worker } from "node:worker_threads"
import { type Close, failureOf, type Mode, type Reply, type Run, type WorkerOptions } from "./worker/protocol.ts"

/** What SQLite (or the worker) reported: the `cause` of the `SqlError`s of this client. */
export class SqliteWorkerFailure extends Data.TaggedError("SqliteWorkerFailure")<{
  readonly message: string
  readonly code?: string | undefined
}> {}

/** How long a closing worker may take to finish its statement and close the database. */
const closeTimeout = Duration.seconds(5)

const bootUrl = new URL("./worker/boot.mjs", import.meta.url)

/** One worker thread and the requests waiting on it. */
export interface WorkerHandle {
  readonly worker: Worker
  readonly pending: Map<number, (result: Effect.Effect<unknown, SqlError.SqlError>) => void>
  /** Why the worker is gone, once it is. */
  stopped: Option.Option<string>
}

export const sqlError = (message: string, failure: { readonly message: string; readonly code?: string | undefined }) =>
  new SqlError.SqlError({ message, cause: new SqliteWorkerFailure(failure) })

export const stoppedError = (reason: string) =>
  sqlError("The SQLite worker stopped", { message: `the SQLite worker stopped: ${reason}`, code: "SQLITE_WORKER_STOPPED" })

const failureFields = { message: Schema.String, code: Schema.optionalWith(Schema.String, { exact: true }) }

/** A message from the worker. */
const ReplySchema: Schema.Schema<Reply> = Schema.Union(
  Schema.TaggedStruct("Ready", {}),
  Schema.TaggedStruct("OpenFailed", failureFields),
  Schema.TaggedStruct("Succeeded", { id: Schema.Number, result: Schema.Unknown }),
  Schema.TaggedStruct("Failed", { id: Schema.Number, stage: Schema.Literal("prepare", "execute"), ...failureFields })
)

/** Whether a statement failed because its worker stopped. */
export const isStopped = (error: SqlError.SqlError): boolean =>
  error.cause instanceof SqliteWorkerFailure && error.cause.code === "SQLITE_WORKER_STOPPED"

const decodeReply = Schema.decodeUnknownEither(ReplySchema)

/** Starts a worker on the file; succeeds once the database is open and configured. */
export const start = (options: WorkerOptions): Effect.Effect<WorkerHandle, SqlError.SqlError> =>
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
export const stop = (handle: WorkerHandle): Effect.Effect<void> =>
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
export const send = (handle: WorkerHandle, mode: Mode, sql: string, params: ReadonlyArray<unknown>): Effect.Effect<unknown, SqlError.SqlError> =>
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

/** Terminates the worker at once, as a crash would; succeeds once it has ended. */
export const terminate = (handle: WorkerHandle): Effect.Effect<void> =>
  Effect.async<void>((resume) => {
    if (Option.isSome(handle.stopped)) {
      resume(Effect.void)
      return
    }
    handle.worker.once("exit", () => resume(Effect.void))
    void handle.worker.terminate()
  })
