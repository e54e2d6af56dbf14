/**
 * The YDB schema, created by `migrate`.
 *
 * - `clients`: keyed by the Telegram user id (Int64).
 * - `messages`: keyed by (chat_id, update_id, role); `thread_id` (the forum topic, 0 or null
 *   for the chat's main conversation) and `speaker` (who wrote it in a group) are nullable. Rows of different chats spread over the
 *   table's partitions (split by load and size), and a chat's last N messages are one range
 *   read of the key, backwards. The key makes a repeated append a no-op.
 * - `inbox`: keyed by update_id, with a secondary index to list pending entries in update_id
 *   order, and a TTL on `finished_at`: finished entries are deleted by YDB itself after the
 *   retention (never below 24 hours); pending entries have no `finished_at` and never expire.
 *   `delivered` (nullable, read as 0) counts the messages of the update's reply already sent.
 * - `conversation_state`: small state by key (`../ConversationState.ts`).
 * - `conversation_summaries`: each conversation's running summary (`../HistoryStore.ts`), keyed
 *   by (chat_id, thread_id; 0 for the chat's main conversation); `up_to` is the newest update
 *   it covers.
 * - `usage_entries`, `usage_credits`: the usage ledger (`src/usage/`), keyed by (chat_id,
 *   update_id, stage, model) and by the credit's id (a Stars charge id credits once), each with
 *   an index by user.
 * - `feedback_answers`, `feedback`: feedback on answers (`../FeedbackStore.ts`): the bot's
 *   answers keyed by (chat_id, message_id), users' reactions keyed by (chat_id, message_id,
 *   reacted_by).
 *
 * `migrate` can run at every deploy: the tables are created `IF NOT EXISTS`, the TTL is set
 * again, and columns added after a table's first version are added only where missing. YQL
 * has no `ADD COLUMN IF NOT EXISTS`, so each such column is probed first (`SELECT column …
 * LIMIT 0`, which fails to compile when it is missing) and `ALTER TABLE … ADD COLUMN` runs only
 * then.
 */
import { identifier } from "@ydbjs/query"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { Duration, Effect } from "effect"
import { effectiveRetention } from "../Inbox.ts"
import { YdbClient } from "./YdbClient.ts"

export interface YdbTables {
  readonly clients: string
  readonly messages: string
  readonly inbox: string
  readonly state: string
  readonly usageEntries: string
  readonly usageCredits: string
  readonly feedbackAnswers: string
  readonly feedback: string
  readonly summaries: string
}

/** Table paths under an optional prefix (a directory such as `bot/`). */
export const ydbTables = (prefix = ""): YdbTables => ({
  clients: `${prefix}clients`,
  messages: `${prefix}messages`,
  inbox: `${prefix}inbox`,
  state: `${prefix}conversation_state`,
  usageEntries: `${prefix}usage_entries`,
  usageCredits: `${prefix}usage_credits`,
  feedbackAnswers: `${prefix}feedback_answers`,
  feedback: `${prefix}feedback`,
  summaries: `${prefix}conversation_summaries`
})

/** An ISO 8601 duration in whole seconds, as YQL's Interval takes it. */
const isoSeconds = (duration: Duration.Duration) => `PT${Math.ceil(Duration.toSeconds(duration))}S`

/** The DDL statements, in order. Only table names and the TTL (configuration) enter the text. */
export const schemaStatements = (tables: YdbTables, inboxTtl: Duration.DurationInput): ReadonlyArray<string> => {
  const t = {
    clients: identifier(tables.clients).toString(),
    messages: identifier(tables.messages).toString(),
    inbox: identifier(tables.inbox).toString(),
    state: identifier(tables.state).toString(),
    usageEntries: identifier(tables.usageEntries).toString(),
    usageCredits: identifier(tables.usageCredits).toString(),
    feedbackAnswers: identifier(tables.feedbackAnswers).toString(),
    feedback: identifier(tables.feedback).toString(),
    summaries: identifier(tables.summaries).toString()
  }
  const ttl = isoSeconds(effectiveRetention(inboxTtl))
  return [
    `CREATE TABLE IF NOT EXISTS ${t.clients} (
      id Int64 NOT NULL,
      first_name Utf8 NOT NULL,
      last_name Utf8,
      username Utf8,
      language_code Utf8,
      profile_name Utf8,
      profile_phone Utf8,
      profile_email Utf8,
      profile_notes Utf8,
      blocked Bool NOT NULL,
      handoff_requested_at Int64,
      handoff_reason Utf8,
      created_at Int64 NOT NULL,
      PRIMARY KEY (id)
    ) WITH (AUTO_PARTITIONING_BY_LOAD = ENABLED, AUTO_PARTITIONING_BY_SIZE = ENABLED)`,
    `CREATE TABLE IF NOT EXISTS ${t.messages} (
      chat_id Int64 NOT NULL,
      update_id Int64 NOT NULL,
      role Utf8 NOT NULL,
      text Utf8 NOT NULL,
      at Int64 NOT NULL,
      thread_id Int64,
      speaker Utf8,
      PRIMARY KEY (chat_id, update_id, role)
    ) WITH (AUTO_PARTITIONING_BY_LOAD = ENABLED, AUTO_PARTITIONING_BY_SIZE = ENABLED)`,
    `CREATE TABLE IF NOT EXISTS ${t.inbox} (
      update_id Int64 NOT NULL,
      chat_id Int64,
      payload Utf8 NOT NULL,
      status Utf8 NOT NULL,
      received_at Timestamp NOT NULL,
      finished_at Timestamp,
      error Utf8,
      delivered Uint32,
      PRIMARY KEY (update_id),
      INDEX inbox_status GLOBAL SYNC ON (status, update_id)
    ) WITH (TTL = Interval("${ttl}") ON finished_at, AUTO_PARTITIONING_BY_LOAD = ENABLED)`,
    `ALTER TABLE ${t.inbox} SET (TTL = Interval("${ttl}") ON finished_at)`,
    `CREATE TABLE IF NOT EXISTS ${t.state} (
      key Utf8 NOT NULL,
      value Utf8 NOT NULL,
      updated_at Int64 NOT NULL,
      PRIMARY KEY (key)
    )`,
    `CREATE TABLE IF NOT EXISTS ${t.usageEntries} (
      chat_id Int64 NOT NULL,
      update_id Int64 NOT NULL,
      stage Utf8 NOT NULL,
      model Utf8 NOT NULL,
      user_id Int64 NOT NULL,
      thread_id Int64 NOT NULL,
      prompt_tokens Int64 NOT NULL,
      cached_prompt_tokens Int64 NOT NULL,
      completion_tokens Int64 NOT NULL,
      reasoning_tokens Int64 NOT NULL,
      paid_tokens Int64 NOT NULL,
      at Int64 NOT NULL,
      PRIMARY KEY (chat_id, update_id, stage, model),
      INDEX usage_entries_user GLOBAL SYNC ON (user_id, at)
    ) WITH (AUTO_PARTITIONING_BY_LOAD = ENABLED, AUTO_PARTITIONING_BY_SIZE = ENABLED)`,
    `CREATE TABLE IF NOT EXISTS ${t.usageCredits} (
      id Utf8 NOT NULL,
      user_id Int64 NOT NULL,
      kind Utf8 NOT NULL,
      tokens Int64 NOT NULL,
      stars Int64 NOT NULL,
      at Int64 NOT NULL,
      PRIMARY KEY (id),
      INDEX usage_credits_user GLOBAL SYNC ON (user_id)
    )`,
    `CREATE TABLE IF NOT EXISTS ${t.feedbackAnswers} (
      chat_id Int64 NOT NULL,
      message_id Int64 NOT NULL,
      update_id Int64 NOT NULL,
      user_id Int64 NOT NULL,
      question Utf8 NOT NULL,
      answer Utf8 NOT NULL,
      at Int64 NOT NULL,
      PRIMARY KEY (chat_id, message_id)
    ) WITH (AUTO_PARTITIONING_BY_LOAD = ENABLED, AUTO_PARTITIONING_BY_SIZE = ENABLED)`,
    `CREATE TABLE IF NOT EXISTS ${t.feedback} (
      chat_id Int64 NOT NULL,
      message_id Int64 NOT NULL,
      reacted_by Int64 NOT NULL,
      kind Utf8 NOT NULL,
      emoji Utf8 NOT NULL,
      reacted_at Int64 NOT NULL,
      PRIMARY KEY (chat_id, message_id, reacted_by)
    )`,
    `CREATE TABLE IF NOT EXISTS ${t.summaries} (
      chat_id Int64 NOT NULL,
      thread_id Int64 NOT NULL,
      text Utf8 NOT NULL,
      up_to Int64 NOT NULL,
      at Int64 NOT NULL,
      PRIMARY KEY (chat_id, thread_id)
    )`
  ]
}

/** A column added after its table's first version: `probe` fails when it is missing, `add` adds it. */
export interface ColumnUpgrade {
  readonly table: string
  readonly column: string
  readonly probe: string
  readonly add: string
}

/** The columns tables created by an earlier version may lack, in order. */
export const columnUpgrades = (tables: YdbTables): ReadonlyArray<ColumnUpgrade> => {
  const inbox = identifier(tables.inbox).toString()
  const messages = identifier(tables.messages).toString()
  return [{
    table: tables.inbox,
    column: "delivered",
    probe: `SELECT delivered FROM ${inbox} LIMIT 0`,
    add: `ALTER TABLE ${inbox} ADD COLUMN delivered Uint32`
  }, {
    table: tables.messages,
    column: "thread_id",
    probe: `SELECT thread_id FROM ${messages} LIMIT 0`,
    add: `ALTER TABLE ${messages} ADD COLUMN thread_id Int64`
  }, {
    table: tables.messages,
    column: "speaker",
    probe: `SELECT speaker FROM ${messages} LIMIT 0`,
    add: `ALTER TABLE ${messages} ADD COLUMN speaker Utf8`
  }]
}

/**
 * The statuses of a probe that mean "no such column" (YDB rejects the query when compiling it).
 * Any other failure (unavailable, timed out, unauthorized…) fails `migrate` rather than
 * risking an ALTER on a column that may well exist.
 */
const missingColumnStatuses = new Set<number>([
  StatusIds_StatusCode.GENERIC_ERROR,
  StatusIds_StatusCode.SCHEME_ERROR,
  StatusIds_StatusCode.BAD_REQUEST
])
/** What a probe returns for a missing column: this very array, told apart by identity. */
const missingResult: ReadonlyArray<never> = []

/**
 * Creates the tables (or leaves them as they are), adds the columns they lack and sets the
 * inbox TTL; returns how many schema statements were applied (probes not counted).
 */
export const migrateYdb = (tables: YdbTables, inboxTtl: Duration.DurationInput) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const statements = schemaStatements(tables, inboxTtl)
    for (const statement of statements) {
      yield* ydb.run("migrate", "schema", (sql) => sql(statement), { idempotent: true })
    }
    let applied = statements.length
    for (const upgrade of columnUpgrades(tables)) {
      const probed = yield* ydb.run("migrate", upgrade.table, (sql) => sql(upgrade.probe), {
        idempotent: true,
        onStatus: (status) => (missingColumnStatuses.has(status.code) ? missingResult : undefined)
      })
      if (probed !== missingResult) continue
      // Not retried after UNDETERMINED: a second ADD COLUMN would fail if the first one was
      // applied; the next migrate probes again and finds the column.
      yield* ydb.run("migrate", upgrade.table, (sql) => sql(upgrade.add), { idempotent: false })
      applied++
    }
    return applied
  })
