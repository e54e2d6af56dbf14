/**
 * Dialog history on PostgreSQL: table `messages`, keyed by (chat_id, update_id, role); the
 * last messages of a conversation (a chat's main one, `thread_id` 0, or a forum topic) are read
 * backwards along the index `messages_conversation` (chat_id, thread_id, update_id).
 */
import { Effect, Layer, Option } from "effect"
import { toConversation } from "../../domain/Conversation.ts"
import type { HistoryMessage } from "../../domain/Dialog.ts"
import { HistoryStore } from "../HistoryStore.ts"
import { decodeMessages, messageColumns, threadColumn } from "../rows.ts"
import { PostgresConnection } from "./PostgresDatabase.ts"
import { optionalUtf8, pgLimit, pgRows, utf8 } from "./statement.ts"

const table = "messages"

export const makeHistoryStorePostgres = Effect.gen(function*() {
  const { call, sql } = yield* PostgresConnection
  const columns = sql.unsafe(messageColumns)
  const decode = (operation: string) => (rows: ReadonlyArray<unknown>) => decodeMessages(operation, table)(pgRows(rows))
  return HistoryStore.of({
    append: (message: HistoryMessage) =>
      call(
        "append",
        table,
        sql`
          INSERT INTO messages (chat_id, update_id, role, text, at, thread_id, speaker)
          VALUES (${message.chatId}, ${message.updateId}, ${message.role}, ${utf8(message.text)}, ${message.at},
                  ${threadColumn(message.threadId)}, ${optionalUtf8(message.speaker)})
          ON CONFLICT (chat_id, update_id, role) DO NOTHING`
      ).pipe(Effect.asVoid),
    lastN: (ref, limit) => {
      const n = pgLimit(limit) ?? Number.MAX_SAFE_INTEGER
      if (n <= 0) return Effect.succeed([])
      const conversation = toConversation(ref)
      return call(
        "lastN",
        table,
        Effect.flatMap(
          // Newest first along the key: for one update 'assistant' sorts before 'user'.
          sql`
            SELECT ${columns} FROM messages
            WHERE chat_id = ${conversation.chatId} AND thread_id = ${threadColumn(conversation.threadId)}
            ORDER BY update_id DESC, role COLLATE "C" ASC
            LIMIT ${n}`,
          decode("lastN")
        )
      ).pipe(Effect.map((messages) => [...messages].reverse()))
    },
    replyFor: (chatId, updateId) =>
      call(
        "replyFor",
        table,
        Effect.flatMap(
          sql`
            SELECT ${columns} FROM messages
            WHERE chat_id = ${chatId} AND update_id = ${updateId} AND role = 'assistant'`,
          decode("replyFor")
        )
      ).pipe(Effect.map((messages) => Option.map(Option.fromNullable(messages[0]), (m) => m.text))),
    clear: (ref) => {
      const conversation = toConversation(ref)
      return call(
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

/** The history store on the `PostgresConnection` of the context (see `PostgresDatabase`). */
export const HistoryStorePostgres = Layer.effect(HistoryStore, makeHistoryStorePostgres)
