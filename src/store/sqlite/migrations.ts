/**
 * Schema of the embedded database, as @effect/sql migrations (applied in id order, each once,
 * recorded in `effect_sql_migrations`).
 *
 * - `clients`: one row per Telegram user, keyed by the user id (an INTEGER: 64-bit exact).
 * - `messages`: dialog history keyed by (chat_id, update_id, role), a table without rowid, so
 *   a chat's messages are one contiguous range of the key and a repeated append is a no-op.
 * - `inbox`: one row per update_id; pending entries are found through `inbox_pending`;
 *   `delivered` (added by 0002) counts the messages of the update's reply already sent.
 * - `instance_lease` (0003): the single-instance lease (`../InstanceLease.ts`), one row.
 * - `messages.thread_id` and `messages.speaker` (0004): the forum topic of a message (0 for the
 *   chat's main conversation) and who wrote it in a group; `messages_conversation` reads one
 *   conversation's range.
 * - `conversation_state` (0005): small state by key (`../ConversationState.ts`): business
 *   connections, owner takeovers.
 * - `feedback_answers`, `feedback` (0007): the bot's answers and users' reactions on them
 *   (`../FeedbackStore.ts`).
 * - `conversation_summaries` (0008): each conversation's running summary of the messages that
 *   fell out of the prompt (`../HistoryStore.ts`), keyed by (chat_id, thread_id); `up_to` is the
 *   newest update it covers.
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

const createTables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE clients (
      id INTEGER PRIMARY KEY,
      first_name TEXT NOT NULL,
      last_name TEXT,
      username TEXT,
      language_code TEXT,
      profile_name TEXT,
      profile_phone TEXT,
      profile_email TEXT,
      profile_notes TEXT,
      blocked INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
      handoff_requested_at INTEGER,
      handoff_reason TEXT,
      created_at INTEGER NOT NULL
    )`
  yield* sql`
    CREATE TABLE messages (
      chat_id INTEGER NOT NULL,
      update_id INTEGER NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('user', 'assistant')),
      text TEXT NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (chat_id, update_id, role)
    ) WITHOUT ROWID`
  yield* sql`
    CREATE TABLE inbox (
      update_id INTEGER PRIMARY KEY,
      chat_id INTEGER,
      payload TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
      received_at INTEGER NOT NULL,
      finished_at INTEGER,
      error TEXT
    )`
  yield* sql`CREATE INDEX inbox_pending ON inbox (update_id) WHERE status = 'pending'`
  yield* sql`CREATE INDEX inbox_finished ON inbox (finished_at) WHERE status <> 'pending'`
})

const addDelivered = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE inbox ADD COLUMN delivered INTEGER NOT NULL DEFAULT 0 CHECK (delivered >= 0)`
})

const addInstanceLease = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE instance_lease (
      name TEXT PRIMARY KEY,
      holder TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      acquired_at INTEGER NOT NULL
    )`
})

const addConversations = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE messages ADD COLUMN thread_id INTEGER NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE messages ADD COLUMN speaker TEXT`
  yield* sql`CREATE INDEX messages_conversation ON messages (chat_id, thread_id, update_id)`
})

const addConversationState = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE conversation_state (
      key TEXT PRIMARY KEY,
      value TEXT NOT NULL,
      updated_at INTEGER NOT NULL
    )`
})

/** The usage ledger (`src/usage/`): what each turn spent, and the tokens users were credited. */
const addUsageLedger = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE usage_entries (
      chat_id INTEGER NOT NULL,
      update_id INTEGER NOT NULL,
      stage TEXT NOT NULL,
      model TEXT NOT NULL,
      user_id INTEGER NOT NULL,
      thread_id INTEGER NOT NULL DEFAULT 0,
      prompt_tokens INTEGER NOT NULL,
      cached_prompt_tokens INTEGER NOT NULL,
      completion_tokens INTEGER NOT NULL,
      reasoning_tokens INTEGER NOT NULL,
      paid_tokens INTEGER NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (chat_id, update_id, stage, model)
    ) WITHOUT ROWID`
  yield* sql`CREATE INDEX usage_entries_user ON usage_entries (user_id, at)`
  yield* sql`CREATE INDEX usage_entries_at ON usage_entries (at)`
  yield* sql`
    CREATE TABLE usage_credits (
      id TEXT PRIMARY KEY,
      user_id INTEGER NOT NULL,
      kind TEXT NOT NULL,
      tokens INTEGER NOT NULL,
      stars INTEGER NOT NULL,
      at INTEGER NOT NULL
    )`
  yield* sql`CREATE INDEX usage_credits_user ON usage_credits (user_id)`
})

/** Feedback on answers (`../FeedbackStore.ts`): the bot's answers, and users' reactions on them. */
const addFeedback = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE feedback_answers (
      chat_id INTEGER NOT NULL,
      message_id INTEGER NOT NULL,
      update_id INTEGER NOT NULL,
      user_id INTEGER NOT NULL,
      question TEXT NOT NULL,
      answer TEXT NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (chat_id, message_id)
    ) WITHOUT ROWID`
  yield* sql`
    CREATE TABLE feedback (
      chat_id INTEGER NOT NULL,
      message_id INTEGER NOT NULL,
      reacted_by INTEGER NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('positive', 'negative')),
      emoji TEXT NOT NULL,
      reacted_at INTEGER NOT NULL,
      PRIMARY KEY (chat_id, message_id, reacted_by)
    ) WITHOUT ROWID`
  yield* sql`CREATE INDEX feedback_reacted_at ON feedback (reacted_at)`
})

/** Running summaries of conversations (`../HistoryStore.ts`). */
const addConversationSummaries = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE conversation_summaries (
      chat_id INTEGER NOT NULL,
      thread_id INTEGER NOT NULL,
      text TEXT NOT NULL,
      up_to INTEGER NOT NULL,
      at INTEGER NOT NULL,
      PRIMARY KEY (chat_id, thread_id)
    ) WITHOUT ROWID`
})

/** Every migration of the embedded database, by name, in the order they apply. */
export const sqliteMigrationSteps = {
  "0001_create_tables": createTables,
  "0002_inbox_delivered": addDelivered,
  "0003_instance_lease": addInstanceLease,
  "0004_conversations": addConversations,
  "0005_conversation_state": addConversationState,
  "0006_usage_ledger": addUsageLedger,
  "0007_feedback": addFeedback,
  "0008_conversation_summaries": addConversationSummaries
} as const

export const sqliteMigrations = Migrator.fromRecord(sqliteMigrationSteps)

/** Applies the migrations not applied yet; returns the ones applied now. */
export const migrateSqlite = Migrator.make({})({ loader: sqliteMigrations })
