/**
 * Dialog history on the SQLite database: table `messages`, keyed by (chat_id, update_id, role)
 * without rowid; a conversation (a chat's main one, `thread_id` 0, or a forum topic) is one
 * range of the index `messages_conversation` (chat_id, thread_id, update_id).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { toConversation } from "../../domain/Conversation.ts"
import type { HistoryMessage } from "../../domain/Dialog.ts"
import { HistoryStore } from "../HistoryStore.ts"
import { decodeMessages, messageColumns, threadColumn } from "../rows.ts"
import { sqlLimit, sqliteCall, statementRunner } from "./statement.ts"

const table = "messages"

export const makeHistoryStoreSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const run = yield* statementRunner
  const columns = sql.unsafe(messageColumns)
  return HistoryStore.of({
    append: (message: HistoryMessage) =>
      sqliteCall(
        "append",
        table,
        run(sql`
          INSERT INTO messages (chat_id, update_id, role, text, at, thread_id, speaker)
          VALUES (${message.chatId}, ${message.updateId}, ${message.role}, ${message.text}, ${message.at},
                  ${threadColumn(message.threadId)}, ${message.speaker ?? null})
          ON CONFLICT (chat_id, update_id, role) DO NOTHING`)
      ).pipe(Effect.asVoid),
    lastN: (ref, limit) => {
      const n = sqlLimit(limit)
      if (n <= 0) return Effect.succeed([])
      const conversation = toConversation(ref)
      return sqliteCall(
        "lastN",
        table,
        Effect.flatMap(
          // Newest first along the key: for one update 'assistant' sorts before 'user'.
          run(sql`
            SELECT ${columns} FROM messages
            WHERE chat_id = ${conversation.chatId} AND thread_id = ${threadColumn(conversation.threadId)}
            ORDER BY update_id DESC, role ASC
            LIMIT ${n}`),
          decodeMessages("lastN", table)
        )
      ).pipe(Effect.map((messages) => [...messages].reverse()))
    },
    replyFor: (chatId, updateId) =>
      sqliteCall(
        "replyFor",
        table,
        Effect.flatMap(
          run(sql`
            SELECT ${columns} FROM messages
            WHERE chat_id = ${chatId} AND update_id = ${updateId} AND role = 'assistant'`),
          decodeMessages("replyFor", table)
        )
      ).pipe(Effect.map((messages) => Option.map(Option.fromNullable(messages[0]), (m) => m.text))),
    clear: (ref) => {
      const conversation = toConversation(ref)
      return sqliteCall(
        "clear",
        table,
        Effect.map(
          sql`
            DELETE FROM messages
            WHERE chat_id = ${conversation.chatId} AND thread_id = ${threadColumn(conversation.threadId)}
            RETURNING update_id`,
          (rows) => rows.length
        )
      )
    }
  })
})

/** The history store on the `SqlClient` of the context (see `SqliteDatabase`). */
export const HistoryStoreSqlite = Layer.effect(HistoryStore, makeHistoryStoreSqlite)
