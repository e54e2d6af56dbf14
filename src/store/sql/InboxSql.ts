/**
 * The inbox on an SQL database (`SqlStores.ts`): table `inbox`, one row per update_id; pending
 * entries are found through the partial index `inbox_pending`. Recording is one
 * `INSERT … ON CONFLICT DO NOTHING`: of concurrent records of one update, exactly one inserts the row.
 */
import { SqlClient } from "@effect/sql"
import { Clock, Duration, Effect, Layer, Option } from "effect"
import type { TelegramId } from "../../domain/Update.ts"
import { deliveredCount, effectiveRetention, Inbox } from "../Inbox.ts"
import { decodeCount, decodeInboxEntries, decodeLastUpdateId, inboxColumns } from "../rows.ts"
import { optionalText, rowLimit, SqlDialect } from "./SqlDialect.ts"

const table = "inbox"

export const makeInboxSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { call, noLimit, rows, run, text } = yield* SqlDialect
  const columns = sql.unsafe(inboxColumns)
  const plain = <A, E>(decode: (rows: unknown) => Effect.Effect<A, E>) => (result: ReadonlyArray<unknown>) => decode(rows(result))
  const finish = (operation: string, updateId: TelegramId, status: "done" | "failed", error: string | undefined) =>
    call(
      operation,
      table,
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        run(sql`
          UPDATE inbox SET status = ${status}, finished_at = ${now}, error = ${optionalText(text, error)}
          WHERE update_id = ${updateId}`))
    ).pipe(Effect.asVoid)

  return Inbox.of({
    record: (update) =>
      call(
        "record",
        table,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          run(sql`
            INSERT INTO inbox (update_id, chat_id, payload, status, received_at)
            VALUES (${update.updateId}, ${update.chatId ?? null}, ${text(update.payload)}, 'pending', ${now})
            ON CONFLICT (update_id) DO NOTHING
            RETURNING update_id`))
      ).pipe(Effect.map((rows) => (rows.length === 1 ? "New" as const : "Duplicate" as const))),
    markDone: (updateId, note) => finish("markDone", updateId, "done", note),
    markFailed: (updateId, reason) => finish("markFailed", updateId, "failed", reason),
    markDelivered: (updateId, count) =>
      Effect.flatMap(deliveredCount("markDelivered", count), (n) =>
        call("markDelivered", table, run(sql`UPDATE inbox SET delivered = ${n} WHERE update_id = ${updateId}`))).pipe(Effect.asVoid),
    entry: (updateId) =>
      call(
        "entry",
        table,
        Effect.flatMap(run(sql`SELECT ${columns} FROM inbox WHERE update_id = ${updateId}`), plain(decodeInboxEntries("entry", table)))
      ).pipe(Effect.map((entries) => Option.fromNullable(entries[0]))),
    pending: (limit) =>
      call(
        "pending",
        table,
        Effect.flatMap(
          run(sql`
            SELECT ${columns} FROM inbox WHERE status = 'pending'
            ORDER BY update_id
            LIMIT ${rowLimit(limit) ?? noLimit}`),
          plain(decodeInboxEntries("pending", table))
        )
      ),
    pendingCount: call(
      "pendingCount",
      table,
      Effect.flatMap(run(sql`SELECT count(*) AS n FROM inbox WHERE status = 'pending'`), plain(decodeCount("pendingCount", table)))
    ),
    lastUpdateId: call(
      "lastUpdateId",
      table,
      Effect.flatMap(run(sql`SELECT max(update_id) AS update_id FROM inbox`), plain(decodeLastUpdateId("lastUpdateId", table)))
    ),
    prune: (retention) =>
      call(
        "prune",
        table,
        Effect.flatMap(Clock.currentTimeMillis, (now) => {
          const cutoff = now - Duration.toMillis(effectiveRetention(retention))
          return run(sql`
            DELETE FROM inbox WHERE status <> 'pending' AND finished_at < ${cutoff}
            RETURNING update_id`)
        })
      ).pipe(Effect.map((rows) => rows.length))
  })
})

/** The inbox on the `SqlClient` and `SqlDialect` of the context. */
export const InboxSql = Layer.effect(Inbox, makeInboxSql)
