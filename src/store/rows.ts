/**
 * The rows of the stores on a database (SQLite, PostgreSQL, YDB) and the records they hold: one
 * table layout, one decoding, one mapping to `Client`, `HistoryMessage` and `InboxEntry`.
 *
 * Rows come in as plain values: strings, numbers, `null`, flags as 0/1 and times as epoch
 * milliseconds. SQLite gives them so; the PostgreSQL dialect (`postgres/PostgresDialect.ts`) and
 * the YDB client bring their values to that form where they leave the driver (`rowsOf`). Every row is decoded with Schema; one that does not match is a
 * StoreError naming the field, never its value (it may be user text).
 */
import { Effect, ParseResult, Schema } from "effect"
import { type Client, type HistoryMessage, type InboxEntry, InboxStatus, Role } from "../domain/Dialog.ts"
import { StoreError } from "../domain/errors.ts"
import { TelegramId } from "../domain/Update.ts"
import type { ConversationSummary } from "./HistoryStore.ts"

// ── plain values ──────────────────────────────────────────────────────────────────────────

/**
 * A column value in plain form: an integer (a bigint, as YDB's Int64 and Uint64 come) becomes a
 * number when the number is exact and stays a bigint otherwise, so that the row fails to decode
 * instead of holding a wrong id; a date becomes epoch milliseconds; a boolean becomes 0 or 1.
 */
export const plainValue = (value: unknown): unknown => {
  if (typeof value === "bigint") {
    return value <= BigInt(Number.MAX_SAFE_INTEGER) && value >= BigInt(Number.MIN_SAFE_INTEGER) ? Number(value) : value
  }
  if (value instanceof Date) return value.getTime()
  if (typeof value === "boolean") return value ? 1 : 0
  return value
}

/** Rows (objects of column name → value) with every value passed through `value`; anything else as it is. */
export const rowsOf = (value: (column: unknown) => unknown) => (rows: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  rows.map((row) =>
    typeof row === "object" && row !== null && !Array.isArray(row)
      ? Object.fromEntries(Object.entries(row).map(([column, v]) => [column, value(v)]))
      : row
  )

/** Rows with every value in plain form. */
export const plainRows = rowsOf(plainValue)

// ── rows ──────────────────────────────────────────────────────────────────────────────────

const NullableString = Schema.NullOr(Schema.String)

/** A flag column: 0 or 1. */
const Flag = Schema.transform(Schema.Literal(0, 1), Schema.Boolean, {
  strict: true,
  decode: (n) => n === 1,
  encode: (b) => (b ? 1 : 0)
})

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
  blocked: Flag,
  handoff_requested_at: Schema.NullOr(Schema.Number),
  handoff_reason: NullableString,
  created_at: Schema.Number
})

const MessageRow = Schema.Struct({
  chat_id: TelegramId,
  update_id: TelegramId,
  role: Role,
  text: Schema.String,
  at: Schema.Number,
  // 0 (SQLite, PostgreSQL) or null (YDB rows written before topics) is the chat's main conversation.
  thread_id: Schema.optional(Schema.NullOr(Schema.Int)),
  speaker: Schema.optional(NullableString)
})

const InboxRow = Schema.Struct({
  update_id: TelegramId,
  chat_id: Schema.NullOr(TelegramId),
  payload: Schema.String,
  status: InboxStatus,
  received_at: Schema.Number,
  finished_at: Schema.NullOr(Schema.Number),
  error: NullableString,
  // Nullable: a YDB row written before the column was added has none, which means nothing sent yet.
  delivered: Schema.NullOr(Schema.NonNegativeInt)
})

const SummaryRow = Schema.Struct({
  text: Schema.String,
  up_to: TelegramId,
  at: Schema.Number
})

const CountRow = Schema.Struct({ n: Schema.Number })
const LastUpdateIdRow = Schema.Struct({ update_id: Schema.NullOr(TelegramId) })

/** The columns of `clients`, in table order. */
export const clientColumns =
  "id, first_name, last_name, username, language_code, profile_name, profile_phone, profile_email, profile_notes, blocked, handoff_requested_at, handoff_reason, created_at"
/** The columns of `messages`, in table order. */
export const messageColumns = "chat_id, update_id, role, text, at, thread_id, speaker"
/** The columns of `conversation_summaries` a summary is read from. */
export const summaryColumns = "text, up_to, at"
/** The columns of `inbox`, in table order. */
export const inboxColumns = "update_id, chat_id, payload, status, received_at, finished_at, error, delivered"

// ── records ───────────────────────────────────────────────────────────────────────────────

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

const toHistoryMessage = (row: typeof MessageRow.Type): HistoryMessage => ({
  chatId: row.chat_id,
  ...(row.thread_id === undefined || row.thread_id === null || row.thread_id === 0 ? {} : { threadId: row.thread_id }),
  updateId: row.update_id,
  role: row.role,
  text: row.text,
  at: row.at,
  ...(row.speaker === undefined || row.speaker === null ? {} : { speaker: row.speaker })
})

/** The thread column value of a conversation: its topic, or 0 for the chat's main conversation. */
export const threadColumn = (threadId: number | undefined): number => threadId ?? 0

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

// ── decoding ──────────────────────────────────────────────────────────────────────────────

/** Decodes the rows of a statement of `operation` on `table` and maps each one. */
const decodeWith = <A, I, B>(schema: Schema.Schema<A, I>, map: (row: A) => B) => {
  const decode = Schema.decodeUnknown(Schema.Array(schema))
  return (operation: string, table: string) => (rows: unknown): Effect.Effect<ReadonlyArray<B>, StoreError> =>
    decode(rows).pipe(
      Effect.map((decoded) => decoded.map(map)),
      Effect.mapError((error) => {
        const where = ParseResult.ArrayFormatter.formatErrorSync(error).map((i) => i.path.join(".") || "(row)").join(", ")
        return new StoreError({ operation, message: `a row of ${table} does not match its schema at ${where}` })
      })
    )
}

/** Rows of `clients` (every column) as clients. */
export const decodeClients = decodeWith(ClientRow, toClient)

/** Rows of `messages` (every column) as history messages, in the order of the rows. */
export const decodeMessages = decodeWith(MessageRow, toHistoryMessage)

/** Rows of `conversation_summaries` (`summaryColumns`) as summaries. */
export const decodeSummaries = decodeWith(SummaryRow, (row): ConversationSummary => ({ text: row.text, upTo: row.up_to, at: row.at }))

/** Rows of `inbox` (every column) as inbox entries, in the order of the rows. */
export const decodeInboxEntries = decodeWith(InboxRow, toInboxEntry)

const decodeCounts = decodeWith(CountRow, (row) => row.n)
const decodeUpdateIds = decodeWith(LastUpdateIdRow, (row) => row.update_id)

/** The count `n` of a `SELECT COUNT(*) AS n`; 0 without a row. */
export const decodeCount = (operation: string, table: string) => (rows: unknown): Effect.Effect<number, StoreError> =>
  Effect.map(decodeCounts(operation, table)(rows), (counts) => counts[0] ?? 0)

/** The `update_id` of the first row, if there is one and it is not null. */
export const decodeLastUpdateId = (operation: string, table: string) =>
  (rows: unknown): Effect.Effect<TelegramId | undefined, StoreError> =>
    Effect.map(decodeUpdateIds(operation, table)(rows), (ids) => ids[0] ?? undefined)
