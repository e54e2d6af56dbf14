/**
 * The inbox on the SQLite database: table `inbox`, one row per update_id; pending entries are
 * found through the partial index `inbox_pending`.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Layer, Option } from "effect"
import type { TelegramId } from "../../domain/Update.ts"
import { deliveredCount, effectiveRetention, Inbox } from "../Inbox.ts"
import { decodeCount, decodeInboxEntries, decodeLastUpdateId } from "../rows.ts"
import { sqlLimit, sqliteCall, statementRunner } from "./statement.ts"

const table = "inbox"

export const makeInboxSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const run = yield* statementRunner
  const finish = (operation: string, updateId: TelegramId, status: "done" | "failed", error: string | null) =>
    sqliteCall(
      operation,
      table,
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run(sql`
          UPDATE inbox SET status = ${status}, finished_at = ${now}, error = ${error}
          WHERE update_id = ${updateId}`))
    ).pipe(Effect.asVoid)

  return Inbox.of({
    record: (update) =>
      sqliteCall(
        "record",
        table,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          run(sql`
            INSERT INTO inbox (update_id, chat_id, payload, status, received_at)
            VALUES (${update.updateId}, ${update.chatId ?? null}, ${update.payload}, 'pending', ${now})
            ON CONFLICT (update_id) DO NOTHING
            RETURNING update_id`))
      ).pipe(Effect.map((rows) => (rows.length === 1 ? "New" as const : "Duplicate" as const))),
    markDone: (updateId, note) => finish("markDone", updateId, "done", note ?? null),
    markFailed: (updateId, reason) => finish("markFailed", updateId, "failed", reason),
    markDelivered: (updateId, count) =>
      Effect.flatMap(deliveredCount("markDelivered", count), (n) =>
        sqliteCall("markDelivered", table, run(sql`UPDATE inbox SET delivered = ${n} WHERE update_id = ${updateId}`))).pipe(
          Effect.asVoid
        ),
    entry: (updateId) =>
      sqliteCall(
        "entry",
        table,
        Effect.flatMap(run(sql`SELECT * FROM inbox WHERE update_id = ${updateId}`), decodeInboxEntries("entry", table))
      ).pipe(Effect.map((entries) => Option.fromNullable(entries[0]))),
    pending: (limit) =>
      sqliteCall(
        "pending",
        table,
        Effect.flatMap(
          sql`
            SELECT * FROM inbox WHERE status = 'pending'
            ORDER BY update_id
            LIMIT ${sqlLimit(limit)}`,
          decodeInboxEntries("pending", table)
        )
      ),
    pendingCount: sqliteCall(
      "pendingCount",
      table,
      Effect.flatMap(sql`SELECT count(*) AS n FROM inbox WHERE status = 'pending'`, decodeCount("pendingCount", table))
    ),
    lastUpdateId: sqliteCall(
      "lastUpdateId",
      table,
      Effect.flatMap(sql`SELECT max(update_id) AS update_id FROM inbox`, decodeLastUpdateId("lastUpdateId", table))
    ),
    prune: (retention) =>
      sqliteCall(
        "prune",
        table,
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const cutoff = now - Duration.toMillis(effectiveRetention(retention))
          return sql`
            DELETE FROM inbox WHERE status <> 'pending' AND finished_at < ${cutoff}
            RETURNING update_id`
        })
      ).pipe(Effect.map((rows) => rows.length))
  })
})

/** The inbox on the `SqlClient` of the context (see `SqliteDatabase`). */
export const InboxSqlite = Layer.effect(Inbox, makeInboxSqlite)
