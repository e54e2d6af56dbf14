/**
 * One worker thread that owns a SQLite database, seen from the main thread: started on a file,
 * sent statements (each answered by id), stopped or terminated. The statements sent in one turn
 * of the event loop (those of concurrent fibers) go in one message, a `Batch`, answered in one
 * message: a message between threads costs more on the main thread than most statements cost
 * in the worker. Every reply is
 * decoded with Schema; a worker that ends fails whatever still waits on it. The client on top
 * (`SqliteWorkerClient`) decides when a new worker is started.
 */
import { SqlClient, SqlError } from "@effect/sql"
import { Context, Data, Duration, Effect, Either, Option, Schema } from "effect"
import { Worker } from "node:worker_threads"
import {
  type Batch,
  type Close,
  type Failed,
  failureOf,
  type Mode,
  type Reply,
  type Run,
  type Succeeded,
  type WorkerOptions
} from "./worker/protocol.ts"

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
  /** Statements sent in this turn of the event loop, posted together at its end. */
  readonly queued: Array<Run>
  /** Why the worker is gone, once it is. */
  stopped: Option.Option<string>
}

export const sqlError = (message: string, failure: { readonly message: string; readonly code?: string | undefined }) =>
  new SqlError.SqlError({ message, cause: new SqliteWorkerFailure(failure) })

export const stoppedError = (reason: string) =>
  sqlError("The SQLite worker stopped", { message: `the SQLite worker stopped: ${reason}`, code: "SQLITE_WORKER_STOPPED" })

const failureFields = { message: Schema.String, code: Schema.optionalWith(Schema.String, { exact: true }) }

const SucceededSchema = Schema.TaggedStruct("Succeeded", { id: Schema.Number, result: Schema.Unknown })
const FailedSchema = Schema.TaggedStruct("Failed", { id: Schema.Number, stage: Schema.Literal("prepare", "execute"), ...failureFields })

/** A message from the worker. */
const ReplySchema: Schema.Schema<Reply> = Schema.Union(
  Schema.TaggedStruct("Ready", {}),
  Schema.TaggedStruct("OpenFailed", failureFields),
  SucceededSchema,
  FailedSchema,
  Schema.TaggedStruct("Replies", { replies: Schema.Array(Schema.Union(SucceededSchema, FailedSchema)) })
)

/** Whether a statement failed because its worker stopped. */
export const isStopped = (error: SqlError.SqlError): boolean =>
  error.cause instanceof SqliteWorkerFailure && error.cause.code === "SQLITE_WORKER_STOPPED"

const decodeReply = Schema.decodeUnknownEither(ReplySchema)

/** Resumes the fiber waiting on a statement with its result. */
const answer = (handle: WorkerHandle, r: Succeeded | Failed) => {
  const waiting = handle.pending.get(r.id)
  if (waiting === undefined) return // its fiber was interrupted
  handle.pending.delete(r.id)
  waiting(
    r._tag === "Succeeded"
      ? Effect.succeed(r.result)
      : Effect.fail(sqlError(r.stage === "prepare" ? "Failed to prepare statement" : "Failed to execute statement", r))
  )
}

/** Fails a statement that could not be handed to the worker. */
const notSent = (handle: WorkerHandle, id: number, error: SqlError.SqlError) => {
  const waiting = handle.pending.get(id)
  if (waiting === undefined) return
  handle.pending.delete(id)
  waiting(Effect.fail(error))
}

const post = (handle: WorkerHandle, message: Run | Batch): Either.Either<void, SqlError.SqlError> =>
  Either.try({
    try: () => handle.worker.postMessage(message),
    catch: (cause) => sqlError("Failed to send the statement to the SQLite worker", failureOf(cause))
  })

/**
 * Posts the statements queued in this turn, in their order: one message for all of them. When
 * the batch cannot be sent (a parameter that cannot be copied to another thread), each is sent
 * alone, so that only the statement at fault fails.
 */
const flush = (handle: WorkerHandle) => {
  const runs = handle.queued.splice(0, handle.queued.length)
  if (Option.isSome(handle.stopped)) {
    for (const run of runs) notSent(handle, run.id, stoppedError(handle.stopped.value))
    return
  }
  if (runs.length === 1 || Either.isLeft(post(handle, { _tag: "Batch", runs }))) {
    for (const run of runs) {
      const posted = post(handle, run)
      if (Either.isLeft(posted)) notSent(handle, run.id, posted.left)
    }
  }
}

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
    const handle: WorkerHandle = { worker, pending: new Map(), queued: [], stopped: Option.none() }
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
        case "Failed":
          answer(handle, r)
          return
        case "Replies":
          for (const one of r.replies) answer(handle, one)
          return
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
      handle.pending.set(id, resume)
      // Posted at the end of this turn, with the other statements sent in it.
      if (handle.queued.push({ _tag: "Run", id, mode, sql, params, safeIntegers }) === 1) queueMicrotask(() => flush(handle))
      // No canceler: a statement once posted runs to its end in the worker whatever the caller
      // does, and its entry goes when the worker answers (or stops). An interrupted caller stops
      // waiting at once; effect drops the late answer. (A canceler would wrap every statement
      // in an interruption handler: some eight runtime steps each.)
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
