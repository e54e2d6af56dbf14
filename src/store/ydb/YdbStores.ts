/**
 * The stores on YDB (tables from `./schema.ts`, created by `migrate`). Every value travels as
 * a typed parameter: Telegram ids as Int64 (exact: the SDK decodes Int64 as bigint), texts as
 * Utf8, inbox times as Timestamp, delivered counts as Uint32. Rows are decoded with Schema.
 */
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { identifier } from "@ydbjs/query"
import { Optional } from "@ydbjs/value/optional"
import { Bool, Int64, Int64Type, Text, TextType, Timestamp, Uint32, Uint64 } from "@ydbjs/value/primitive"
import { Clock, Duration, Effect, Layer, Option, ParseResult, Schema } from "effect"
import type { Client, HistoryMessage, InboxEntry } from "../../domain/Dialog.ts"
import { InboxStatus, Role } from "../../domain/Dialog.ts"
import { StoreError } from "../../domain/errors.ts"
import { TelegramId } from "../../domain/Update.ts"
import { ClientStore } from "../ClientStore.ts"
import { HistoryStore } from "../HistoryStore.ts"
import { deliveredCount, effectiveRetention, Inbox } from "../Inbox.ts"
import { YdbConfig } from "../StoreConfig.ts"
import { type Rows, YdbClient, YdbClientLive, type YdbConnectionOptions, type YdbStatus } from "./YdbClient.ts"
import { ydbTables, type YdbTables } from "./schema.ts"

// ── typed parameters ────────────────────────────────────────────────────────────────────

export const int64 = (n: number) => new Int64(BigInt(n))
const text = (s: string) => new Text(s)
const optionalText = (s: string | undefined) => new Optional(s === undefined ? null : new Text(s), new TextType())
const timestamp = (millis: number) => new Timestamp(new Date(millis))

// ── rows ────────────────────────────────────────────────────────────────────────────────

/** An Int64 column (a bigint from the SDK) as a Telegram id, rejected if not exact in a number. */
const Int64Id = Schema.transformOrFail(Schema.BigIntFromSelf, TelegramId, {
  strict: true,
  decode: (b, _, ast) =>
    b <= BigInt(Number.MAX_SAFE_INTEGER) && b >= BigInt(Number.MIN_SAFE_INTEGER)
      ? ParseResult.succeed(Number(b))
      : ParseResult.fail(new ParseResult.Type(ast, b, "an id outside the exact range of a number")),
  encode: (n) => ParseResult.succeed(BigInt(n))
})
const Int64Number = Schema.transform(Schema.BigIntFromSelf, Schema.Number, {
  strict: true,
  decode: (b) => Number(b),
  encode: (n) => BigInt(n)
})
const TimestampMillis = Schema.transform(Schema.DateFromSelf, Schema.Number, {
  strict: true,
  decode: (d) => d.getTime(),
  encode: (n) => new Date(n)
})
const NullableString = Schema.NullOr(Schema.String)

const ClientRow = Schema.Struct({
  id: Int64Id,
  first_name: Schema.String,
  last_name: NullableString,
  username: NullableString,
  language_code: NullableString,
  profile_name: NullableString,
  profile_phone: NullableString,
  profile_email: NullableString,
  profile_notes: NullableString,
  blocked: Schema.Boolean,
  handoff_requested_at: Schema.NullOr(Int64Number),
  handoff_reason: NullableString,
  created_at: Int64Number
})
const MessageRow = Schema.Struct({ chat_id: Int64Id, update_id: Int64Id, role: Role, text: Schema.String, at: Int64Number })
const InboxRow = Schema.Struct({
  update_id: Int64Id,
  chat_id: Schema.NullOr(Int64Id),
  payload: Schema.String,
  status: InboxStatus,
  received_at: TimestampMillis,
  finished_at: Schema.NullOr(TimestampMillis),
  error: NullableString,
  // Nullable: rows written before the column was added have none, which means nothing sent yet.
  delivered: Schema.NullOr(Schema.NonNegativeInt)
})
const CountRow = Schema.Struct({ n: Int64Number })
const IdRow = Schema.Struct({ update_id: Int64Id })

const clientColumns =
  "id, first_name, last_name, username, language_code, profile_name, profile_phone, profile_email, profile_notes, blocked, handoff_requested_at, handoff_reason, created_at"
const inboxColumns = "update_id, chat_id, payload, status, received_at, finished_at, error, delivered"

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
  blocked: row.blocked,
  ...(row.handoff_requested_at === null ? {} : { handoffRequestedAt: row.handoff_requested_at }),
  ...(row.handoff_reason === null ? {} : { handoffReason: row.handoff_reason }),
  createdAt: row.created_at
})

const toInboxEntry = (row: typeof InboxRow.Type): InboxEntry => ({
  updateId: row.update_id,
  ...(row.chat_id === null ? {} : { chatId: row.chat_id }),
  payload: row.payload,
  status: row.status,
  receivedAt: row.received_at,
  delivered: row.delivered ?? 0,
  ...(row.finished_at === null ? {} : { finishedAt: row.finished_at }),
  ...(row.error === null ? {} : { error: row.error })
})

/** Decodes result set `index`; a row that does not match names the field, never its value. */
const decodeRows = <A, I>(operation: string, table: string, schema: Schema.Schema<A, I>, index = 0) =>
  (results: ReadonlyArray<Rows>): Effect.Effect<ReadonlyArray<A>, StoreError> =>
    Schema.decodeUnknown(Schema.Array(schema))(results[index] ?? []).pipe(
      Effect.mapError((error) => {
        const where = ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path.join(".") || "(row)").join(", ")
        return new StoreError({ operation, message: `a row of ${table} does not match its schema at ${where}` })
      })
    )

/** INSERT of an existing key fails with PRECONDITION_FAILED (issue 2012, "Conflict with existing key"). */
export const isKeyConflict = (status: YdbStatus) =>
  status.code === StatusIds_StatusCode.PRECONDITION_FAILED &&
  (status.issueCodes.length === 0 || status.issueCodes.includes(2012))

const conflict = Symbol.for("dialog-bot/ydb/key-conflict")
const conflictResult: ReadonlyArray<Rows> = Object.assign([], { [conflict]: true })
const onKeyConflict = (status: YdbStatus) => (isKeyConflict(status) ? conflictResult : undefined)
const wasConflict = (results: ReadonlyArray<Rows>) => results === conflictResult

// ── stores ──────────────────────────────────────────────────────────────────────────────

export const makeClientStoreYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const table = identifier(tables.clients)
    const select = (operation: string, id: TelegramId) =>
      ydb.run(operation, tables.clients, (sql) => sql`SELECT ${sql.unsafe(clientColumns)} FROM ${table} WHERE id = ${int64(id)}`, {
        idempotent: true
      }).pipe(Effect.flatMap(decodeRows(operation, tables.clients, ClientRow)), Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toClient)))
    const existing = (operation: string, id: TelegramId) =>
      Effect.flatMap(select(operation, id), Option.match({
        onNone: () => Effect.fail(new StoreError({ operation, message: `no client ${id}` })),
        onSome: Effect.succeed
      }))

    return ClientStore.of({
      getOrCreate: (user) =>
        Effect.gen(function*() {
          const found = yield* select("getOrCreate", user.id)
          if (Option.isSome(found)) return found.value
          const now = yield* Clock.currentTimeMillis
          // A concurrent creation wins the key; the stored row is returned either way.
          yield* ydb.run(
            "getOrCreate",
            tables.clients,
            (sql) =>
              sql`INSERT INTO ${table} (id, first_name, last_name, username, language_code, blocked, created_at)
                  VALUES (${int64(user.id)}, ${text(user.firstName)}, ${optionalText(user.lastName)}, ${optionalText(user.username)},
                          ${optionalText(user.languageCode)}, ${new Bool(false)}, ${int64(now)})`,
            { idempotent: true, onStatus: onKeyConflict }
          )
          return yield* existing("getOrCreate", user.id)
        }),
      get: (id) => select("get", id),
      updateProfile: (id, patch) =>
        Effect.zipRight(
          ydb.run(
            "updateProfile",
            tables.clients,
            (sql) =>
              sql`UPDATE ${table} SET
                    profile_name = COALESCE(${optionalText(patch.name)}, profile_name),
                    profile_phone = COALESCE(${optionalText(patch.phone)}, profile_phone),
                    profile_email = COALESCE(${optionalText(patch.email)}, profile_email),
                    profile_notes = COALESCE(${optionalText(patch.notes)}, profile_notes)
                  WHERE id = ${int64(id)}`,
            { idempotent: true }
          ),
          existing("updateProfile", id)
        ),
      setBlocked: (id, blocked) =>
        ydb.run(
          "setBlocked",
          tables.clients,
          (sql) => sql`UPDATE ${table} SET blocked = ${new Bool(blocked)} WHERE id = ${int64(id)}`,
          { idempotent: true }
        ).pipe(Effect.asVoid),
      requestHandoff: (id, reason) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.zipRight(
            ydb.run(
              "requestHandoff",
              tables.clients,
              (sql) =>
                sql`UPDATE ${table} SET handoff_requested_at = ${int64(now)}, handoff_reason = ${text(reason)}
                    WHERE id = ${int64(id)}`,
              { idempotent: true }
            ),
            existing("requestHandoff", id)
          ))
    })
  })

const roleRank = { user: 0, assistant: 1 } as const
const historyOrder = (a: HistoryMessage, b: HistoryMessage) => a.updateId - b.updateId || roleRank[a.role] - roleRank[b.role]

export const makeHistoryStoreYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const table = identifier(tables.messages)
    const toMessage = (r: typeof MessageRow.Type): HistoryMessage => ({ chatId: r.chat_id, updateId: r.update_id, role: r.role, text: r.text, at: r.at })
    return HistoryStore.of({
      // Insert-or-ignore: a key conflict means the message is stored already, so a retry is safe.
      append: (message) =>
        ydb.run(
          "append",
          tables.messages,
          (sql) =>
            sql`INSERT INTO ${table} (chat_id, update_id, role, text, at)
                VALUES (${int64(message.chatId)}, ${int64(message.updateId)}, ${text(message.role)}, ${text(message.text)}, ${int64(message.at)})`,
          { idempotent: true, onStatus: onKeyConflict }
        ).pipe(Effect.asVoid),
      lastN: (chatId, limit) => {
        if (!(limit >= 1)) return Effect.succeed([])
        const n = Math.floor(Math.min(limit, Number.MAX_SAFE_INTEGER))
        // One backward range read of the key. Backwards, an update's 'user' row comes before its
        // 'assistant' row, the reverse of history order, so one row more is read and the order
        // is fixed here: the last `n` in history order are always among those n + 1 rows.
        return ydb.run(
          "lastN",
          tables.messages,
          (sql) =>
            sql`SELECT chat_id, update_id, role, text, at FROM ${table}
                WHERE chat_id = ${int64(chatId)}
                ORDER BY chat_id DESC, update_id DESC, role DESC
                LIMIT ${new Uint64(BigInt(n) + 1n)}`,
          { idempotent: true }
        ).pipe(
          Effect.flatMap(decodeRows("lastN", tables.messages, MessageRow)),
          Effect.map((rows) => rows.map(toMessage).sort(historyOrder).slice(-n))
        )
      },
      replyFor: (chatId, updateId) =>
        ydb.run(
          "replyFor",
          tables.messages,
          (sql) =>
            sql`SELECT chat_id, update_id, role, text, at FROM ${table}
                WHERE chat_id = ${int64(chatId)} AND update_id = ${int64(updateId)} AND role = ${text("assistant")}`,
          { idempotent: true }
        ).pipe(
          Effect.flatMap(decodeRows("replyFor", tables.messages, MessageRow)),
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (r) => r.text))
        ),
      // Counted and deleted in one transaction; not retried after UNDETERMINED (the count would lie).
      clear: (chatId) =>
        ydb.run(
          "clear",
          tables.messages,
          (sql) =>
            sql`$chat = SELECT chat_id, update_id, role FROM ${table} WHERE chat_id = ${int64(chatId)};
                SELECT COUNT(*) AS n FROM $chat;
                DELETE FROM ${table} ON SELECT * FROM $chat;`.isolation("serializableReadWrite"),
          { idempotent: false }
        ).pipe(Effect.flatMap(decodeRows("clear", tables.messages, CountRow)), Effect.map((rows) => rows[0]?.n ?? 0))
    })
  })

export const makeInboxYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const table = identifier(tables.inbox)
    const pendingView = identifier("inbox_status")
    const finish = (operation: string, updateId: TelegramId, status: "done" | "failed", error: string | undefined) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        ydb.run(
          operation,
          tables.inbox,
          (sql) =>
            sql`UPDATE ${table} SET status = ${text(status)}, finished_at = ${timestamp(now)}, error = ${optionalText(error)}
                WHERE update_id = ${int64(updateId)}`,
          { idempotent: true }
        )).pipe(Effect.asVoid)
    const decodeEntries = (operation: string) => (results: ReadonlyArray<Rows>) =>
      Effect.map(decodeRows(operation, tables.inbox, InboxRow)(results), (rows) => rows.map(toInboxEntry))

    return Inbox.of({
      // INSERT, not UPSERT: an existing key is the answer "Duplicate". Not retried after
      // UNDETERMINED, where a second attempt could see its own first write as a duplicate.
      record: (update) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          ydb.run(
            "record",
            tables.inbox,
            (sql) =>
              sql`INSERT INTO ${table} (update_id, chat_id, payload, status, received_at)
                  VALUES (${int64(update.updateId)},
                          ${new Optional(update.chatId === undefined ? null : int64(update.chatId), new Int64Type())},
                          ${text(update.payload)}, ${text("pending")}, ${timestamp(now)})`,
            { idempotent: false, onStatus: onKeyConflict }
          )).pipe(Effect.map((results) => (wasConflict(results) ? "Duplicate" as const : "New" as const))),
      markDone: (updateId, note) => finish("markDone", updateId, "done", note),
      markFailed: (updateId, reason) => finish("markFailed", updateId, "failed", reason),
      // Sets the count (idempotent: a repeat writes the same value); no row, no change.
      markDelivered: (updateId, count) =>
        Effect.flatMap(deliveredCount("markDelivered", count), (n) =>
          ydb.run(
            "markDelivered",
            tables.inbox,
            (sql) => sql`UPDATE ${table} SET delivered = ${new Uint32(n)} WHERE update_id = ${int64(updateId)}`,
            { idempotent: true }
          )).pipe(Effect.asVoid),
      entry: (updateId) =>
        ydb.run(
          "entry",
          tables.inbox,
          (sql) => sql`SELECT ${sql.unsafe(inboxColumns)} FROM ${table} WHERE update_id = ${int64(updateId)}`,
          { idempotent: true }
        ).pipe(Effect.flatMap(decodeEntries("entry")), Effect.map((rows) => Option.fromNullable(rows[0]))),
      pending: (limit) => {
        const n = limit === undefined || Number.isNaN(limit) ? undefined : Math.max(0, Math.floor(Math.min(limit, Number.MAX_SAFE_INTEGER)))
        if (n === 0) return Effect.succeed([])
        return ydb.run(
          "pending",
          tables.inbox,
          (sql) =>
            n === undefined
              ? sql`SELECT ${sql.unsafe(inboxColumns)} FROM ${table} VIEW ${pendingView}
                    WHERE status = ${text("pending")} ORDER BY update_id`
              : sql`SELECT ${sql.unsafe(inboxColumns)} FROM ${table} VIEW ${pendingView}
                    WHERE status = ${text("pending")} ORDER BY update_id LIMIT ${new Uint64(BigInt(n))}`,
          { idempotent: true }
        ).pipe(Effect.flatMap(decodeEntries("pending")))
      },
      pendingCount: ydb.run(
        "pendingCount",
        tables.inbox,
        (sql) => sql`SELECT COUNT(*) AS n FROM ${table} VIEW ${pendingView} WHERE status = ${text("pending")}`,
        { idempotent: true }
      ).pipe(Effect.flatMap(decodeRows("pendingCount", tables.inbox, CountRow)), Effect.map((rows) => rows[0]?.n ?? 0)),
      lastUpdateId: ydb.run(
        "lastUpdateId",
        tables.inbox,
        (sql) => sql`SELECT update_id FROM ${table} ORDER BY update_id DESC LIMIT 1`,
        { idempotent: true }
      ).pipe(Effect.flatMap(decodeRows("lastUpdateId", tables.inbox, IdRow)), Effect.map((rows) => rows[0]?.update_id)),
      // YDB's TTL deletes finished entries on its own; prune does the same on demand.
      prune: (retention) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const cutoff = now - Duration.toMillis(effectiveRetention(retention))
          return ydb.run(
            "prune",
            tables.inbox,
            (sql) =>
              sql`$old = SELECT update_id FROM ${table} WHERE finished_at < ${timestamp(cutoff)} AND status != ${text("pending")};
                  SELECT COUNT(*) AS n FROM $old;
                  DELETE FROM ${table} ON SELECT * FROM $old;`.isolation("serializableReadWrite"),
            { idempotent: false }
          )
        }).pipe(Effect.flatMap(decodeRows("prune", tables.inbox, CountRow)), Effect.map((rows) => rows[0]?.n ?? 0))
    })
  })

/** The three stores on a YDB client. */
export const StoresOnYdb = (tables: YdbTables = ydbTables()) =>
  Layer.mergeAll(
    Layer.effect(ClientStore, makeClientStoreYdb(tables)),
    Layer.effect(HistoryStore, makeHistoryStoreYdb(tables)),
    Layer.effect(Inbox, makeInboxYdb(tables))
  )

/** The three stores on YDB with their own driver. */
export const StoresYdb = (options: YdbConnectionOptions, tables: YdbTables = ydbTables()) =>
  StoresOnYdb(tables).pipe(Layer.provide(YdbClientLive(options)))

/** The stores on the YDB that `YDB_CONNECTION_STRING` names. */
export const StoresYdbFromEnv = Layer.unwrapEffect(Effect.map(YdbConfig, (config) => StoresYdb(config, ydbTables(config.tablePrefix))))
