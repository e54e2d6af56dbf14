/**
 * The inbox on YDB: table `inbox`, one row per update_id; pending entries are read through the
 * index `inbox_status`, and YDB's TTL deletes finished entries (see `./schema.ts`).
 */
import { identifier } from "@ydbjs/query"
import { Uint32 } from "@ydbjs/value/primitive"
import { Clock, Duration, Effect, Layer, Option } from "effect"
import type { TelegramId } from "../../domain/Update.ts"
import { deliveredCount, effectiveRetention, Inbox } from "../Inbox.ts"
import { decodeCount, decodeInboxEntries, decodeLastUpdateId, inboxColumns } from "../rows.ts"
import { int64, onKeyConflict, optionalInt64, optionalText, text, timestamp, uint64, wasConflict } from "./statements.ts"
import { ydbTables, type YdbTables } from "./schema.ts"
import { type Rows, YdbClient } from "./YdbClient.ts"

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
    const entries = (operation: string) => (results: ReadonlyArray<Rows>) =>
      decodeInboxEntries(operation, tables.inbox)(results[0] ?? [])
    const count = (operation: string) => (results: ReadonlyArray<Rows>) =>
      decodeCount(operation, tables.inbox)(results[0] ?? [])

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
                          ${optionalInt64(update.chatId)},
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
        ).pipe(Effect.flatMap(entries("entry")), Effect.map((found) => Option.fromNullable(found[0]))),
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
                    WHERE status = ${text("pending")} ORDER BY update_id LIMIT ${uint64(n)}`,
          { idempotent: true }
        ).pipe(Effect.flatMap(entries("pending")))
      },
      pendingCount: ydb.run(
        "pendingCount",
        tables.inbox,
        (sql) => sql`SELECT COUNT(*) AS n FROM ${table} VIEW ${pendingView} WHERE status = ${text("pending")}`,
        { idempotent: true }
      ).pipe(Effect.flatMap(count("pendingCount"))),
      lastUpdateId: ydb.run(
        "lastUpdateId",
        tables.inbox,
        (sql) => sql`SELECT update_id FROM ${table} ORDER BY update_id DESC LIMIT 1`,
        { idempotent: true }
      ).pipe(Effect.flatMap((results) => decodeLastUpdateId("lastUpdateId", tables.inbox)(results[0] ?? []))),
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
        }).pipe(Effect.flatMap(count("prune")))
    })
  })

/** The inbox on the `YdbClient` of the context. */
export const InboxYdb = (tables: YdbTables = ydbTables()) => Layer.effect(Inbox, makeInboxYdb(tables))
