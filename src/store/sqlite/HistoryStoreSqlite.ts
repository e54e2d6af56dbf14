/**
 * Dialog history on the SQLite database: table `messages`, keyed by (chat_id, update_id, role)
 * without rowid, so a chat's messages are one contiguous range of the key.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import type { HistoryMessage } from "../../domain/Dialog.ts"
import { HistoryStore } from "../HistoryStore.ts"
import { decodeMessages } from "../rows.ts"
import { sqlLimit, sqliteCall } from "./statement.ts"

const table = "messages"

export const makeHistoryStoreSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return HistoryStore.of({
    append: (message: HistoryMessage) =>
      sqliteCall(
        "append",
        table,
        sql`
          INSERT INTO messages (chat_id, update_id, role, text, at)
          VALUES (${message.chatId}, ${message.updateId}, ${message.role}, ${message.text}, ${message.at})
          ON CONFLICT (chat_id, update_id, role) DO NOTHING`
      ).pipe(Effect.asVoid),
    lastN: (chatId, limit) => {
      const n = sqlLimit(limit)
      if (n <= 0) return Effect.succeed([])
      return sqliteCall(
        "lastN",
        table,
        Effect.flatMap(
          // Newest first along the key: for one update 'assistant' sorts before 'user'.
          sql`
            SELECT chat_id, update_id, role, text, at FROM messages
            WHERE chat_id = ${chatId}
            ORDER BY update_id DESC, role ASC
            LIMIT ${n}`,
          decodeMessages("lastN", table)
        )
      ).pipe(Effect.map((messages) => [...messages].reverse()))
    },
    replyFor: (chatId, updateId) =>
      sqliteCall(
        "replyFor",
        table,
        Effect.flatMap(
          sql`
            SELECT chat_id, update_id, role, text, at FROM messages
            WHERE chat_id = ${chatId} AND update_id = ${updateId} AND role = 'assistant'`,
          decodeMessages("replyFor", table)
        )
      ).pipe(Effect.map((messages) => Option.map(Option.fromNullable(messages[0]), (m) => m.text))),
    clear: (chatId) =>
      sqliteCall(
        "clear",
        table,
        Effect.map(sql`DELETE FROM messages WHERE chat_id = ${chatId} RETURNING update_id`, (rows) => rows.length)
      )
  })
})

/** The history store on the `SqlClient` of the context (see `SqliteDatabase`). */
export const HistoryStoreSqlite = Layer.effect(HistoryStore, makeHistoryStoreSqlite)
