/**
 * Schema of the PostgreSQL store, as @effect/sql migrations (applied in id order, each once,
 * recorded in `effect_sql_migrations`). Migrating holds a transaction-level advisory lock, so
 * replicas starting together on a new database apply each migration once, one after the other.
 * The layout is the SQLite one (`../sqlite/migrations.ts`):
 *
 * - `clients`: one row per Telegram user, keyed by the user id (`bigint`: 64-bit exact).
 * - `messages`: dialog history keyed by (chat_id, update_id, role), so a repeated append is a
 *   no-op and a chat's messages are one range of the key.
 * - `inbox`: one row per update_id; pending entries are found through `inbox_pending`.
 * - `instance_lease` (0002): the single-instance lease (`../InstanceLease.ts`), one row.
 * - `messages.thread_id` and `messages.speaker` (0003): the forum topic of a message (0 for the
 *   chat's main conversation) and who wrote it in a group; `messages_conversation` reads one
 *   conversation's range.
 * - `conversation_state` (0004): small state by key (`../ConversationState.ts`): business
 *   connections, owner takeovers.
 * - `feedback_answers`, `feedback` (0006): the bot's answers and users' reactions on them
 *   (`../FeedbackStore.ts`).
 * - `conversation_summaries` (0007): each conversation's running summary of the messages that
 *   fell out of the prompt (`../HistoryStore.ts`), keyed by (chat_id, thread_id); `up_to` is the
 *   newest update it covers.
 *
 * Times are epoch milliseconds (`bigint`), as in SQLite. Free text is `bytea` holding UTF-8:
 * PostgreSQL's `text` cannot hold NUL characters (read it with `convert_from(col, 'UTF8')`).
 */
import * as Migrator from "@effect/sql/Migrator"
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

const createTables = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE clients (
      id bigint PRIMARY KEY,
      first_name bytea NOT NULL,
      last_name bytea,
      username bytea,
      language_code bytea,
      profile_name bytea,
      profile_phone bytea,
      profile_email bytea,
      profile_notes bytea,
      blocked boolean NOT NULL DEFAULT false,
      handoff_requested_at bigint,
      handoff_reason bytea,
      created_at bigint NOT NULL
    )`
  yield* sql`
    CREATE TABLE messages (
      chat_id bigint NOT NULL,
      update_id bigint NOT NULL,
      role text NOT NULL CHECK (role IN ('user', 'assistant')),
      text bytea NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (chat_id, update_id, role)
    )`
  yield* sql`
    CREATE TABLE inbox (
      update_id bigint PRIMARY KEY,
      chat_id bigint,
      payload bytea NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'done', 'failed')),
      received_at bigint NOT NULL,
      finished_at bigint,
      error bytea,
      delivered bigint NOT NULL DEFAULT 0 CHECK (delivered >= 0)
    )`
  yield* sql`CREATE INDEX inbox_pending ON inbox (update_id) WHERE status = 'pending'`
  yield* sql`CREATE INDEX inbox_finished ON inbox (finished_at) WHERE status <> 'pending'`
})

const addInstanceLease = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE instance_lease (
      name text PRIMARY KEY,
      holder text NOT NULL,
      expires_at bigint NOT NULL,
      acquired_at bigint NOT NULL
    )`
})

const addConversations = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE messages ADD COLUMN thread_id bigint NOT NULL DEFAULT 0`
  yield* sql`ALTER TABLE messages ADD COLUMN speaker bytea`
  yield* sql`CREATE INDEX messages_conversation ON messages (chat_id, thread_id, update_id)`
})

const addConversationState = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE conversation_state (
      key text PRIMARY KEY,
      value bytea NOT NULL,
      updated_at bigint NOT NULL
    )`
})

/** The usage ledger (`src/usage/`): what each turn spent, and the tokens users were credited. */
const addUsageLedger = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE usage_entries (
      chat_id bigint NOT NULL,
      update_id bigint NOT NULL,
      stage text NOT NULL,
      model text NOT NULL,
      user_id bigint NOT NULL,
      thread_id bigint NOT NULL DEFAULT 0,
      prompt_tokens bigint NOT NULL,
      cached_prompt_tokens bigint NOT NULL,
      completion_tokens bigint NOT NULL,
      reasoning_tokens bigint NOT NULL,
      paid_tokens bigint NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (chat_id, update_id, stage, model)
    )`
  yield* sql`CREATE INDEX usage_entries_user ON usage_entries (user_id, at)`
  yield* sql`CREATE INDEX usage_entries_at ON usage_entries (at)`
  yield* sql`
    CREATE TABLE usage_credits (
      id text PRIMARY KEY,
      user_id bigint NOT NULL,
      kind text NOT NULL,
      tokens bigint NOT NULL,
      stars bigint NOT NULL,
      at bigint NOT NULL
    )`
  yield* sql`CREATE INDEX usage_credits_user ON usage_credits (user_id)`
})

/** Feedback on answers (`../FeedbackStore.ts`): the bot's answers, and users' reactions on them. */
const addFeedback = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE feedback_answers (
      chat_id bigint NOT NULL,
      message_id bigint NOT NULL,
      update_id bigint NOT NULL,
      user_id bigint NOT NULL,
      question bytea NOT NULL,
      answer bytea NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (chat_id, message_id)
    )`
  yield* sql`
    CREATE TABLE feedback (
      chat_id bigint NOT NULL,
      message_id bigint NOT NULL,
      reacted_by bigint NOT NULL,
      kind text NOT NULL CHECK (kind IN ('positive', 'negative')),
      emoji bytea NOT NULL,
      reacted_at bigint NOT NULL,
      PRIMARY KEY (chat_id, message_id, reacted_by)
    )`
  yield* sql`CREATE INDEX feedback_reacted_at ON feedback (reacted_at)`
})

/** Running summaries of conversations (`../HistoryStore.ts`). */
const addConversationSummaries = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE conversation_summaries (
      chat_id bigint NOT NULL,
      thread_id bigint NOT NULL,
      text bytea NOT NULL,
      up_to bigint NOT NULL,
      at bigint NOT NULL,
      PRIMARY KEY (chat_id, thread_id)
    )`
})

/** Every migration of the PostgreSQL store, by name, in the order they apply. */
export const postgresMigrationSteps = {
  "0001_create_tables": createTables,
  "0002_instance_lease": addInstanceLease,
  "0003_conversations": addConversations,
  "0004_conversation_state": addConversationState,
  "0005_usage_ledger": addUsageLedger,
  "0006_feedback": addFeedback,
  "0007_conversation_summaries": addConversationSummaries
} as const

export const postgresMigrations = Migrator.fromRecord(postgresMigrationSteps)

const migrationsTable = "effect_sql_migrations"

/** The key of the advisory lock migrations hold ("dialog" in ASCII). */
const migrationLock = 0x6469616c6f67

/** Applies the migrations not applied yet, one process at a time; returns the ones applied now. */
export const migratePostgres = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`SELECT pg_advisory_xact_lock(${migrationLock})`
    // The table as the Migrator creates it; made here so that its first-run probe (a failing
    // statement) never runs inside this transaction.
    yield* sql`
      CREATE TABLE IF NOT EXISTS ${sql(migrationsTable)} (
        migration_id integer PRIMARY KEY,
        created_at timestamp with time zone NOT NULL DEFAULT now(),
        name text NOT NULL
      )`
    return yield* Migrator.make({})({ loader: postgresMigrations, table: migrationsTable })
  }))
})
