/**
 * Dialog history on PostgreSQL: table `messages`, keyed by (chat_id, update_id, role), so the
 * last messages of a chat are read backwards along the primary key's index.
 */
import { Effect, Layer, Option } from "effect"
import type { HistoryMessage } from "../../domain/Dialog.ts"
import { HistoryStore } from "../HistoryStore.ts"
import { decodeMessages, messageColumns } from "../rows.ts"
import { PostgresConnection } from "./PostgresDatabase.ts"
import { pgLimit, pgRows, utf8 } from "./statement.ts"

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
          INSERT INTO messages (chat_id, update_id, role, text, at)
          VALUES (${message.chatId}, ${message.updateId}, ${message.role}, ${utf8(message.text)}, ${message.at})
          ON CONFLICT (chat_id, update_id, role) DO NOTHING`
      ).pipe(Effect.asVoid),
    lastN: (chatId, limit) => {
      const n = pgLimit(limit) ?? Number.MAX_SAFE_INTEGER
      if (n <= 0) return Effect.succeed([])
      return call(
        "lastN",
        table,
        Effect.flatMap(
          // Newest first along the key: for one update 'assistant' sorts before 'user'.
          sql`
            SELECT ${columns} FROM messages
            WHERE chat_id = ${chatId}
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
    clear: (chatId) =>
      call("clear", table, Effect.map(sql`DELETE FROM messages WHERE chat_id = ${chatId} RETURNING update_id`, (rows) => rows.length))
  })
})

/** The history store on the `PostgresConnection` of the context (see `PostgresDatabase`). */
export const HistoryStorePostgres = Layer.effect(HistoryStore, makeHistoryStorePostgres)
