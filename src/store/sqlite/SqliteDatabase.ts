/**
 * The embedded SQLite database (better-sqlite3) the SQL stores (`../sql/`) run on. The file is
 * opened in WAL mode with `synchronous=NORMAL` (a commit is durable against a process crash; a
 * power loss may drop the last commits, never corrupt the file) and a busy timeout, and migrated
 * at start.
 *
 * better-sqlite3 runs statements synchronously, so by default the connection lives in a worker
 * thread (`SqliteWorkerClient`) and the event loop never waits on SQLite; the in-thread client
 * of @effect/sql-sqlite-node remains as an option. See bench/README.md for the measured delay.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { existsSync, mkdirSync, statSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { Cause, type ConfigError, Duration, Effect, Layer, Option } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { causeMessage, type SqlDialect } from "../sql/SqlDialect.ts"
import { reportApplied } from "../MigrationReport.ts"
import { migrateSqlite } from "./migrations.ts"
import { SqliteDialect } from "./SqliteDialect.ts"
import * as SqliteWorkerClient from "./SqliteWorkerClient.ts"

export interface SqliteOptions {
  /** File path, or `:memory:`. */
  readonly path: string
  readonly busyTimeout: Duration.DurationInput
  /**
   * Run the database in a worker thread (the default). `false` runs better-sqlite3 on the main
   * thread: every statement then blocks the event loop while it runs.
   */
  readonly worker?: boolean | undefined
}

const isMemory = (path: string) => path === ":memory:" || path === ""

/**
 * Creates the missing directories of `dir`, outermost first, one level at a time: Node's
 * recursive `mkdirSync` loops forever under a parent that refuses new entries with ENOENT
 * (`/proc`), where one level at a time fails at once.
 */
const makeDirectories = (dir: string): void => {
  const missing: Array<string> = []
  for (let current = dir; !existsSync(current); current = dirname(current)) {
    missing.unshift(current)
    if (dirname(current) === current) break
  }
  // A file where a directory should be: mkdir names it (EEXIST).
  if (missing.length === 0 && !statSync(dir).isDirectory()) mkdirSync(dir)
  for (const level of missing) mkdirSync(level)
}

/** Creates the directory of the database file when it is missing. */
const ensureDirectory = (path: string) =>
  isMemory(path)
    ? Effect.void
    : Effect.try({
      try: () => makeDirectories(dirname(resolve(path))),
      catch: (cause) =>
        new StoreError({ operation: "open", message: `cannot create the directory of ${path}: ${causeMessage(cause)}` })
    })

const configure = (busyTimeout: Duration.DurationInput) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // PRAGMA takes no bound parameters; these are integers from the configuration.
    yield* sql.unsafe(`PRAGMA busy_timeout = ${Math.max(0, Math.round(Duration.toMillis(busyTimeout)))}`)
    yield* sql.unsafe("PRAGMA synchronous = NORMAL")
    // Reading the schema fails fast on a file that is not a database.
    yield* sql.unsafe("SELECT count(*) AS n FROM sqlite_schema")
    yield* Effect.flatMap(migrateSqlite, reportApplied)
    // A file SQLite could only open read-only (permissions, an immutable file, a read-only
    // mount) must fail now, not at the first write: rewrite the header's user_version, roll back.
    const version = yield* Effect.map(sql.unsafe("PRAGMA user_version"), (rows) => Number(Object.values(rows[0] ?? {})[0] ?? 0))
    yield* sql.unsafe("BEGIN IMMEDIATE")
    yield* sql.unsafe(`PRAGMA user_version = ${Math.trunc(version)}`).pipe(
      Effect.ensuring(Effect.ignore(sql.unsafe("ROLLBACK")))
    )
  })

/**
 * The SQLite client on the given file, configured and migrated, with the SQL stores' dialect
 * (`./SqliteDialect.ts`): in a worker thread unless `options.worker` is `false`. A file that
 * cannot be opened, is not a database, or cannot be written fails the layer with a StoreError
 * naming the path.
 */
export const SqliteDatabase = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient | SqlDialect, StoreError> => {
  const filename = isMemory(options.path) ? ":memory:" : options.path
  const client: Layer.Layer<SqlClient.SqlClient, SqlError.SqlError | ConfigError.ConfigError> = options.worker === false
    ? SqliteClient.layer({ filename })
    : SqliteWorkerClient.layer({ filename, busyTimeout: options.busyTimeout })
  const ready = Layer.effectDiscard(configure(options.busyTimeout)).pipe(Layer.provideMerge(Layer.provideMerge(SqliteDialect, client)))
  return Layer.unwrapEffect(Effect.as(ensureDirectory(options.path), ready)).pipe(
    Layer.catchAllCause((cause) => {
      const failure = Cause.failureOption(cause)
      const reason = Option.match(failure, {
        onNone: () => Option.match(Cause.dieOption(cause), { onNone: () => "interrupted", onSome: causeMessage }),
        onSome: (e) =>
          e._tag === "StoreError"
            ? e.message
            : e._tag === "SqlError"
            ? `${causeMessage(e.cause)}`
            : e._tag === "MigrationError"
            ? `migration failed: ${e.message}`
            : e.message
      })
      return Layer.fail(new StoreError({ operation: "open", message: `SQLite database ${options.path}: ${reason}` }))
    })
  )
}
