/**
 * The stores on an embedded SQLite database (better-sqlite3): the default for a single machine.
 * The file is opened in WAL mode with `synchronous=NORMAL` (a commit is durable against a
 * process crash; a power loss may drop the last commits, never corrupt the file) and a busy
 * timeout, and migrated at start.
 *
 * better-sqlite3 runs statements synchronously, so by default the connection lives in a worker
 * thread (`SqliteWorkerClient`) and the event loop never waits on SQLite; the in-thread client
 * of @effect/sql-sqlite-node remains as an option. See bench/README.md for the measured delay.
 *
 * Every statement is parameterized; every row read is decoded with Schema.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { SqliteClient } from "@effect/sql-sqlite-node"
import { mkdirSync } from "node:fs"
import { dirname, resolve } from "node:path"
import { Cause, Clock, type ConfigError, Duration, Effect, Layer, Option, ParseResult, Schema } from "effect"
import type { Client, HistoryMessage, InboxEntry } from "../../domain/Dialog.ts"
import { InboxStatus, Role } from "../../domain/Dialog.ts"
import { StoreError } from "../../domain/errors.ts"
import { TelegramId } from "../../domain/Update.ts"
import { ClientStore } from "../ClientStore.ts"
import { HistoryStore } from "../HistoryStore.ts"
import { deliveredCount, effectiveRetention, Inbox } from "../Inbox.ts"
import { SqliteConfig } from "../StoreConfig.ts"
import { migrateSqlite } from "./migrations.ts"
import * as SqliteWorkerClient from "./SqliteWorkerClient.ts"

// ── errors ──────────────────────────────────────────────────────────────────────────────

const sqliteCode = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && "code" in cause && typeof cause.code === "string" ? cause.code : undefined

const causeMessage = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** A SQLite failure as a StoreError. SQLite's messages name the problem, never a bound value. */
const fromSqlError = (operation: string) => (error: SqlError.SqlError): StoreError => {
  const code = sqliteCode(error.cause)
  return new StoreError({
    operation,
    message: `${error.message}: ${causeMessage(error.cause)}${code === undefined ? "" : ` (${code})`}`,
    retryable: code === "SQLITE_BUSY" || code === "SQLITE_LOCKED"
  })
}

/** A row that does not decode: the path of the bad field only, not its value (it may be user text). */
const fromParseError = (operation: string, table: string) => (error: ParseResult.ParseError): StoreError => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const where = issues.map((i) => i.path.join(".") || "(row)").join(", ")
  return new StoreError({ operation, message: `a row of ${table} does not match its schema at ${where}` })
}

const storeCall = <A, R>(
  operation: string,
  table: string,
  effect: Effect.Effect<A, SqlError.SqlError | ParseResult.ParseError, R>
): Effect.Effect<A, StoreError, R> =>
  effect.pipe(
    Effect.catchTags({ SqlError: (e) => Effect.fail(fromSqlError(operation)(e)), ParseError: (e) => Effect.fail(fromParseError(operation, table)(e)) }),
    Effect.withSpan(`store.sqlite.${operation}`, { attributes: { "db.system.name": "sqlite", "db.collection.name": table } })
  )

// ── the database ────────────────────────────────────────────────────────────────────────

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

/** Creates the directory of the database file when it is missing. */
const ensureDirectory = (path: string) =>
  isMemory(path)
    ? Effect.void
    : Effect.try({
      try: () => {
        mkdirSync(dirname(resolve(path)), { recursive: true })
      },
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
    yield* migrateSqlite
    // A file SQLite could only open read-only (permissions, an immutable file, a read-only
    // mount) must fail now, not at the first write: rewrite the header's user_version, roll back.
    const version = yield* Effect.map(sql.unsafe("PRAGMA user_version"), (rows) => Number(Object.values(rows[0] ?? {})[0] ?? 0))
    yield* sql.unsafe("BEGIN IMMEDIATE")
    yield* sql.unsafe(`PRAGMA user_version = ${Math.trunc(version)}`).pipe(
      Effect.ensuring(Effect.ignore(sql.unsafe("ROLLBACK")))
    )
  })

/**
 * The SQLite client on the given file, configured and migrated: in a worker thread unless
 * `options.worker` is `false`. A file that cannot be opened, is not a database, or cannot be
 * written fails the layer with a StoreError naming the path.
 */
export const SqliteDatabase = (options: SqliteOptions): Layer.Layer<SqlClient.SqlClient, StoreError> => {
  const filename = isMemory(options.path) ? ":memory:" : options.path
  const client: Layer.Layer<SqlClient.SqlClient, SqlError.SqlError | ConfigError.ConfigError> = options.worker === false
    ? SqliteClient.layer({ filename })
    : SqliteWorkerClient.layer({ filename, busyTimeout: options.busyTimeout })
  const ready = Layer.effectDiscard(configure(options.busyTimeout)).pipe(Layer.provideMerge(client))
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

// ── rows ────────────────────────────────────────────────────────────────────────────────

const NullableString = Schema.NullOr(Schema.String)

const ClientRow = Schema.Struct({
  id: TelegramId,
  first_name: Schema.String,
  last_name: NullableString,
  username: NullableString,
  language_code: NullableString,
  profile_name: NullableString,
  profile_phone: NullableString,
  profile_email: NullableString,
  profile_notes: NullableString,
  blocked: Schema.Literal(0, 1),
  handoff_requested_at: Schema.NullOr(Schema.Number),
  handoff_reason: NullableString,
  created_at: Schema.Number
})
const decodeClientRows = Schema.decodeUnknown(Schema.Array(ClientRow))

const toClient = (row: typeof ClientRow.Type): Client => ({
  id: row.id,
  firstName: row.first_name,
  ...(row.last_name === null ? {} : { lastName: row.last_name }),
  ...(row.username === null ? {} : { username: row.username }),
  ...(row.language_code === null ? {} : { languageCode: row.language_code }),
  profile: {
    ...(row.profile_name === null ? {} : { name: row.profile_name }),
    ...(row.profile_phone === null ? {} : { phone: row.profile_phone }),
    ...(row.profile_email === null ? {} : { email: row.profile_email }),
    ...(row.profile_notes === null ? {} : { notes: row.profile_notes })
  },
  blocked: row.blocked === 1,
  ...(row.handoff_requested_at === null ? {} : { handoffRequestedAt: row.handoff_requested_at }),
  ...(row.handoff_reason === null ? {} : { handoffReason: row.handoff_reason }),
  createdAt: row.created_at
})

const MessageRow = Schema.Struct({
  chat_id: TelegramId,
  update_id: TelegramId,
  role: Role,
  text: Schema.String,
  at: Schema.Number
})
const decodeMessageRows = Schema.decodeUnknown(Schema.Array(MessageRow))

const InboxRow = Schema.Struct({
  update_id: TelegramId,
  chat_id: Schema.NullOr(TelegramId),
  payload: Schema.String,
  status: InboxStatus,
  received_at: Schema.Number,
  finished_at: Schema.NullOr(Schema.Number),
  error: NullableString,
  delivered: Schema.Number
})
const decodeInboxRows = Schema.decodeUnknown(Schema.Array(InboxRow))

const toInboxEntry = (row: typeof InboxRow.Type): InboxEntry => ({
  updateId: row.update_id,
  ...(row.chat_id === null ? {} : { chatId: row.chat_id }),
  payload: row.payload,
  status: row.status,
  receivedAt: row.received_at,
  delivered: row.delivered,
  ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
  ...(row.error === null ? {} : { error: row.error })
})

const Count = Schema.Array(Schema.Struct({ n: Schema.Number }))
const decodeCount = (rows: unknown) => Effect.map(Schema.decodeUnknown(Count)(rows), (r) => r[0]?.n ?? 0)
const MaxId = Schema.Array(Schema.Struct({ id: Schema.NullOr(TelegramId) }))

/** A row limit as SQLite takes it: -1 means no limit. */
export const sqlLimit = (limit: number | undefined): number =>
  limit === undefined || Number.isNaN(limit) ? -1 : Math.max(0, Math.min(Math.floor(limit), Number.MAX_SAFE_INTEGER))

// ── stores ──────────────────────────────────────────────────────────────────────────────

export const makeClientStoreSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const select = (id: TelegramId) =>
    Effect.flatMap(sql`SELECT * FROM clients WHERE id = ${id}`, decodeClientRows)
  const one = (operation: string, id: TelegramId) => (rows: ReadonlyArray<typeof ClientRow.Type>) =>
    rows[0] === undefined
      ? Effect.fail(new StoreError({ operation, message: `no client ${id}` }))
      : Effect.succeed(toClient(rows[0]))

  return ClientStore.of({
    getOrCreate: (user) =>
      storeCall(
        "getOrCreate",
        "clients",
        Effect.gen(function*() {
          const now = yield* Clock.currentTimeMillis
          yield* sql`
            INSERT INTO clients (id, first_name, last_name, username, language_code, blocked, created_at)
            VALUES (${user.id}, ${user.firstName}, ${user.lastName ?? null}, ${user.username ?? null},
                    ${user.languageCode ?? null}, 0, ${now})
            ON CONFLICT (id) DO NOTHING`
          return yield* select(user.id)
        })
      ).pipe(Effect.flatMap(one("getOrCreate", user.id))),
    get: (id) => storeCall("get", "clients", select(id)).pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toClient))),
    updateProfile: (id, patch) =>
      storeCall(
        "updateProfile",
        "clients",
        Effect.flatMap(
          sql`
            UPDATE clients SET
              profile_name = COALESCE(${patch.name ?? null}, profile_name),
              profile_phone = COALESCE(${patch.phone ?? null}, profile_phone),
              profile_email = COALESCE(${patch.email ?? null}, profile_email),
              profile_notes = COALESCE(${patch.notes ?? null}, profile_notes)
            WHERE id = ${id}
            RETURNING *`,
          decodeClientRows
        )
      ).pipe(Effect.flatMap(one("updateProfile", id))),
    setBlocked: (id, blocked) =>
      storeCall("setBlocked", "clients", sql`UPDATE clients SET blocked = ${blocked ? 1 : 0} WHERE id = ${id}`).pipe(Effect.asVoid),
    requestHandoff: (id, reason) =>
      storeCall(
        "requestHandoff",
        "clients",
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(
            sql`
              UPDATE clients SET handoff_requested_at = ${now}, handoff_reason = ${reason}
              WHERE id = ${id}
              RETURNING *`,
            decodeClientRows
          ))
      ).pipe(Effect.flatMap(one("requestHandoff", id)))
  })
})

export const makeHistoryStoreSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return HistoryStore.of({
    append: (message: HistoryMessage) =>
      storeCall(
        "append",
        "messages",
        sql`
          INSERT INTO messages (chat_id, update_id, role, text, at)
          VALUES (${message.chatId}, ${message.updateId}, ${message.role}, ${message.text}, ${message.at})
          ON CONFLICT (chat_id, update_id, role) DO NOTHING`
      ).pipe(Effect.asVoid),
    lastN: (chatId, limit) => {
      const n = sqlLimit(limit)
      if (n <= 0) return Effect.succeed([])
      return storeCall(
        "lastN",
        "messages",
        Effect.flatMap(
          // Newest first along the key: for one update 'assistant' sorts before 'user'.
          sql`
            SELECT chat_id, update_id, role, text, at FROM messages
            WHERE chat_id = ${chatId}
            ORDER BY update_id DESC, role ASC
            LIMIT ${n}`,
          decodeMessageRows
        )
      ).pipe(
        Effect.map((rows) => rows.map((r): HistoryMessage => ({ chatId: r.chat_id, updateId: r.update_id, role: r.role, text: r.text, at: r.at })).reverse())
      )
    },
    replyFor: (chatId, updateId) =>
      storeCall(
        "replyFor",
        "messages",
        Effect.flatMap(
          sql`
            SELECT chat_id, update_id, role, text, at FROM messages
            WHERE chat_id = ${chatId} AND update_id = ${updateId} AND role = 'assistant'`,
          decodeMessageRows
        )
      ).pipe(Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.text))),
    clear: (chatId) =>
      storeCall(
        "clear",
        "messages",
        Effect.map(sql`DELETE FROM messages WHERE chat_id = ${chatId} RETURNING update_id`, (rows) => rows.length)
      )
  })
})

export const makeInboxSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const finish = (operation: string, updateId: TelegramId, status: "done" | "failed", error: string | null) =>
    storeCall(
      operation,
      "inbox",
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sql`
          UPDATE inbox SET status = ${status}, finished_at = ${now}, error = ${error}
          WHERE update_id = ${updateId}`)
    ).pipe(Effect.asVoid)

  return Inbox.of({
    record: (update) =>
      storeCall(
        "record",
        "inbox",
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          sql`
            INSERT INTO inbox (update_id, chat_id, payload, status, received_at)
            VALUES (${update.updateId}, ${update.chatId ?? null}, ${update.payload}, 'pending', ${now})
            ON CONFLICT (update_id) DO NOTHING
            RETURNING update_id`)
      ).pipe(Effect.map((rows) => (rows.length === 1 ? "New" as const : "Duplicate" as const))),
    markDone: (updateId, note) => finish("markDone", updateId, "done", note ?? null),
    markFailed: (updateId, reason) => finish("markFailed", updateId, "failed", reason),
    markDelivered: (updateId, count) =>
      Effect.flatMap(deliveredCount("markDelivered", count), (n) =>
        storeCall("markDelivered", "inbox", sql`UPDATE inbox SET delivered = ${n} WHERE update_id = ${updateId}`)).pipe(
          Effect.asVoid
        ),
    entry: (updateId) =>
      storeCall("entry", "inbox", Effect.flatMap(sql`SELECT * FROM inbox WHERE update_id = ${updateId}`, decodeInboxRows)).pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toInboxEntry))
      ),
    pending: (limit) =>
      storeCall(
        "pending",
        "inbox",
        Effect.flatMap(
          sql`
            SELECT * FROM inbox WHERE status = 'pending'
            ORDER BY update_id
            LIMIT ${sqlLimit(limit)}`,
          decodeInboxRows
        )
      ).pipe(Effect.map((rows) => rows.map(toInboxEntry))),
    pendingCount: storeCall(
      "pendingCount",
      "inbox",
      Effect.flatMap(sql`SELECT count(*) AS n FROM inbox WHERE status = 'pending'`, decodeCount)
    ),
    lastUpdateId: storeCall(
      "lastUpdateId",
      "inbox",
      Effect.flatMap(sql`SELECT max(update_id) AS id FROM inbox`, Schema.decodeUnknown(MaxId))
    ).pipe(Effect.map((rows) => rows[0]?.id ?? undefined)),
    prune: (retention) =>
      storeCall(
        "prune",
        "inbox",
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const cutoff = now - Duration.toMillis(effectiveRetention(retention))
          return sql`
            DELETE FROM inbox WHERE status <> 'pending' AND finished_at < ${cutoff}
            RETURNING update_id`
        })
      ).pipe(Effect.map((rows) => rows.length))
  })
})

export const ClientStoreSqlite = Layer.effect(ClientStore, makeClientStoreSqlite)
export const HistoryStoreSqlite = Layer.effect(HistoryStore, makeHistoryStoreSqlite)
export const InboxSqlite = Layer.effect(Inbox, makeInboxSqlite)

/** The three stores on one SQLite database. */
export const StoresSqlite = (options: SqliteOptions) =>
  Layer.mergeAll(ClientStoreSqlite, HistoryStoreSqlite, InboxSqlite).pipe(Layer.provide(SqliteDatabase(options)))

/** The three stores on the database `SQLITE_PATH` names. */
export const StoresSqliteFromEnv = Layer.unwrapEffect(Effect.map(SqliteConfig, StoresSqlite))
