/**
 * The pending inbox entries of one chat recorded before a given update, on the PostgreSQL
 * inbox (its partial index of pending entries). Cluster mode runs a chat's earlier pending
 * updates first with it: a message sent to a chat right after its shard moved to another
 * replica may arrive there before the older messages the new owner reads from storage.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { StoreError } from "../../domain/errors.ts"
import type { TelegramId } from "../../domain/Update.ts"

/** Update ids of `chatId`'s pending entries below `updateId`, oldest first, at most `limit`. */
export const pendingBefore = (
  chatId: TelegramId,
  updateId: TelegramId,
  limit = 100
): Effect.Effect<ReadonlyArray<TelegramId>, StoreError, SqlClient.SqlClient> =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly update_id: string | number | bigint }>`
      SELECT update_id FROM inbox
      WHERE status = 'pending' AND chat_id = ${chatId} AND update_id < ${updateId}
      ORDER BY update_id
      LIMIT ${limit}`).pipe(
    Effect.map((rows) => rows.map((row) => Number(row.update_id) as TelegramId)),
    Effect.mapError((e) => new StoreError({ operation: "pending_before", message: e.message, retryable: true })),
    Effect.withSpan("store.inbox.pendingBefore")
  )
