/**
 * Dialog history on an SQL database (`SqlStores.ts`): table `messages`, keyed by (chat_id,
 * update_id, role); the last messages of a conversation (a chat's main one, `thread_id` 0, or a
 * forum topic) are read backwards along the index `messages_conversation` (chat_id, thread_id,
 * update_id). A conversation's running summary is one row of `conversation_summaries`, keyed by
 * (chat_id, thread_id); an upsert replaces it only with one that reaches further (`up_to`).
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { toConversation } from "../../domain/Conversation.ts"
import type { HistoryMessage } from "../../domain/Dialog.ts"
import { HistoryStore } from "../HistoryStore.ts"
import { decodeMessages, decodeSummaries, messageColumns, summaryColumns, threadColumn } from "../rows.ts"
import { optionalText, rowLimit, SqlDialect } from "./SqlDialect.ts"

const table = "messages"
const summaries = "conversation_summaries"

export const makeHistoryStoreSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { byteOrder, call, noLimit, rows, run, text } = yield* SqlDialect
  const columns = sql.unsafe(messageColumns)
  const roleOrder = sql.literal(`role${byteOrder} ASC`)
  const read = (operation: string) => (result: ReadonlyArray<unknown>) => decodeMessages(operation, table)(rows(result))
  return HistoryStore.of({
    append: (message: HistoryMessage) =>
      call(
        "append",
        table,
        run(sql`
          INSERT INTO messages (chat_id, update_id, role, text, at, thread_id, speaker)
          VALUES (${message.chatId}, ${message.updateId}, ${message.role}, ${text(message.text)}, ${message.at},
                  ${threadColumn(message.threadId)}, ${optionalText(text, message.speaker)})
          ON CONFLICT (chat_id, update_id, role) DO NOTHING`)
      ).pipe(Effect.asVoid),
    lastN: (ref, limit) => {
      if (!(limit >= 1)) return Effect.succeed([])
      const conversation = toConversation(ref)
      return call(
        "lastN",
        table,
        Effect.flatMap(
          // Newest first along the key: for one update 'assistant' sorts before 'user'.
          run(sql`
            SELECT ${columns} FROM messages
            WHERE chat_id = ${conversation.chatId} AND thread_id = ${threadColumn(conversation.threadId)}
            ORDER BY update_id DESC, ${roleOrder}
            LIMIT ${rowLimit(limit) ?? noLimit}`),
          read("lastN")
        )
      ).pipe(Effect.map((messages) => [...messages].reverse()))
    },
    replyFor: (chatId, updateId) =>
      call(
        "replyFor",
        table,
        Effect.flatMap(
          run(sql`
            SELECT ${columns} FROM messages
            WHERE chat_id = ${chatId} AND update_id = ${updateId} AND role = 'assistant'`),
          read("replyFor")
        )
      ).pipe(Effect.map((messages) => Option.map(Option.fromNullable(messages[0]), (m) => m.text))),
    clear: (ref) => {
      const conversation = toConversation(ref)
      const thread = threadColumn(conversation.threadId)
      return call(
        "clear",
        table,
        Effect.zipRight(
          run(sql`DELETE FROM conversation_summaries WHERE chat_id = ${conversation.chatId} AND thread_id = ${thread}`),
          Effect.map(
            run(sql`
              DELETE FROM messages
              WHERE chat_id = ${conversation.chatId} AND thread_id = ${thread}
              RETURNING update_id`),
            (rows) => rows.length
          )
        )
      )
    },
    summary: (ref) => {
      const conversation = toConversation(ref)
      return call(
        "summary",
        summaries,
        Effect.flatMap(
          run(sql`
            SELECT ${sql.unsafe(summaryColumns)} FROM conversation_summaries
            WHERE chat_id = ${conversation.chatId} AND thread_id = ${threadColumn(conversation.threadId)}`),
          (result) => decodeSummaries("summary", summaries)(rows(result))
        )
      ).pipe(Effect.map((found) => Option.fromNullable(found[0])))
    },
    saveSummary: (ref, summary) => {
      const conversation = toConversation(ref)
      return call(
        "saveSummary",
        summaries,
        run(sql`
          INSERT INTO conversation_summaries (chat_id, thread_id, text, up_to, at)
          VALUES (${conversation.chatId}, ${threadColumn(conversation.threadId)}, ${text(summary.text)}, ${summary.upTo}, ${summary.at})
          ON CONFLICT (chat_id, thread_id) DO UPDATE SET text = excluded.text, up_to = excluded.up_to, at = excluded.at
          WHERE conversation_summaries.up_to < excluded.up_to
          RETURNING up_to`)
      ).pipe(Effect.map((stored) => stored.length > 0))
    }
  })
})

/** The history store on the `SqlClient` and `SqlDialect` of the context. */
export const HistoryStoreSql = Layer.effect(HistoryStore, makeHistoryStoreSql)
