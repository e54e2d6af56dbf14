/**
 * Dialog history on YDB: table `messages`, keyed by (chat_id, update_id, role), so a chat's
 * messages are one range of the key; a conversation (the chat's main one, `thread_id` 0 or
 * null, or a forum topic) is the rows of that range with its `thread_id`. A conversation's running
 * summary is one row of `conversation_summaries`, keyed by (chat_id, thread_id).
 */
import { identifier } from "@ydbjs/query"
import { Effect, Layer, Option, Schema } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { historyOrder, HistoryStore } from "../HistoryStore.ts"
import { toConversation } from "../../domain/Conversation.ts"
import { decodeCount, decodeMessages, decodeSummaries, messageColumns, summaryColumns, threadColumn } from "../rows.ts"
import { int64, onKeyConflict, optionalText, text, uint64 } from "./statements.ts"
import { ydbTables, type YdbTables } from "./schema.ts"
import { YdbClient } from "./YdbClient.ts"

/** The answer of `saveSummary`: a flag (0/1, as the client gives Bool), null when YQL's comparison had no value. */
const decodeStored = Schema.decodeUnknown(Schema.Array(Schema.Struct({ stored: Schema.NullOr(Schema.Literal(0, 1)) })))

export const makeHistoryStoreYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const table = identifier(tables.messages)
    const summaries = identifier(tables.summaries)
    return HistoryStore.of({
      // Insert-or-ignore: a key conflict means the message is stored already, so a retry is safe.
      append: (message) =>
        ydb.run(
          "append",
          tables.messages,
          (sql) =>
            sql`INSERT INTO ${table} (chat_id, update_id, role, text, at, thread_id, speaker)
                VALUES (${int64(message.chatId)}, ${int64(message.updateId)}, ${text(message.role)}, ${text(message.text)}, ${int64(message.at)},
                        ${int64(threadColumn(message.threadId))}, ${optionalText(message.speaker)})`,
          { idempotent: true, onStatus: onKeyConflict }
        ).pipe(Effect.asVoid),
      lastN: (ref, limit) => {
        if (!(limit >= 1)) return Effect.succeed([])
        const conversation = toConversation(ref)
        const n = Math.floor(Math.min(limit, Number.MAX_SAFE_INTEGER))
        // One backward range read of the key. Backwards, an update's 'user' row comes before its
        // 'assistant' row, the reverse of history order, so one row more is read and the order
        // is fixed here: the last `n` in history order are always among those n + 1 rows.
        return ydb.run(
          "lastN",
          tables.messages,
          (sql) =>
            sql`SELECT ${sql.unsafe(messageColumns)} FROM ${table}
                WHERE chat_id = ${int64(conversation.chatId)} AND COALESCE(thread_id, 0) = ${int64(threadColumn(conversation.threadId))}
                ORDER BY chat_id DESC, update_id DESC, role DESC
                LIMIT ${uint64(n + 1)}`,
          { idempotent: true }
        ).pipe(
          Effect.flatMap((results) => decodeMessages("lastN", tables.messages)(results[0] ?? [])),
          Effect.map((messages) => [...messages].sort(historyOrder).slice(-n))
        )
      },
      replyFor: (chatId, updateId) =>
        ydb.run(
          "replyFor",
          tables.messages,
          (sql) =>
            sql`SELECT ${sql.unsafe(messageColumns)} FROM ${table}
                WHERE chat_id = ${int64(chatId)} AND update_id = ${int64(updateId)} AND role = ${text("assistant")}`,
          { idempotent: true }
        ).pipe(
          Effect.flatMap((results) => decodeMessages("replyFor", tables.messages)(results[0] ?? [])),
          Effect.map((messages) => Option.map(Option.fromNullable(messages[0]), (m) => m.text))
        ),
      // Counted and deleted, with the summary, in one transaction; not retried after UNDETERMINED (the count would lie).
      clear: (ref) => {
        const conversation = toConversation(ref)
        const thread = threadColumn(conversation.threadId)
        return ydb.run(
          "clear",
          tables.messages,
          (sql) =>
            sql`$chat = SELECT chat_id, update_id, role FROM ${table}
                WHERE chat_id = ${int64(conversation.chatId)} AND COALESCE(thread_id, 0) = ${int64(thread)};
                SELECT COUNT(*) AS n FROM $chat;
                DELETE FROM ${table} ON SELECT * FROM $chat;
                DELETE FROM ${summaries} WHERE chat_id = ${int64(conversation.chatId)} AND thread_id = ${int64(thread)};`
              .isolation("serializableReadWrite"),
          { idempotent: false }
        ).pipe(Effect.flatMap((results) => decodeCount("clear", tables.messages)(results[0] ?? [])))
      },
      summary: (ref) => {
        const conversation = toConversation(ref)
        return ydb.run(
          "summary",
          tables.summaries,
          (sql) =>
            sql`SELECT ${sql.unsafe(summaryColumns)} FROM ${summaries}
                WHERE chat_id = ${int64(conversation.chatId)} AND thread_id = ${int64(threadColumn(conversation.threadId))}`,
          { idempotent: true }
        ).pipe(
          Effect.flatMap((results) => decodeSummaries("summary", tables.summaries)(results[0] ?? [])),
          Effect.map((found) => Option.fromNullable(found[0]))
        )
      },
      // Read, then written, in one serializable transaction (the answer is read before the write):
      // the row is replaced only by a summary that reaches further, so repeating it is safe.
      saveSummary: (ref, summary) => {
        const conversation = toConversation(ref)
        return ydb.run(
          "saveSummary",
          tables.summaries,
          (sql) =>
            sql`$stored = (SELECT MAX(up_to) FROM ${summaries}
                  WHERE chat_id = ${int64(conversation.chatId)} AND thread_id = ${int64(threadColumn(conversation.threadId))});
                $further = $stored IS NULL OR $stored < ${int64(summary.upTo)};
                SELECT $further AS stored;
                UPSERT INTO ${summaries} (chat_id, thread_id, text, up_to, at)
                SELECT chat_id, thread_id, text, up_to, at FROM AS_TABLE(AsList(AsStruct(
                  ${int64(conversation.chatId)} AS chat_id, ${int64(threadColumn(conversation.threadId))} AS thread_id,
                  ${text(summary.text)} AS text, ${int64(summary.upTo)} AS up_to, ${int64(summary.at)} AS at
                ))) WHERE $further;`.isolation("serializableReadWrite"),
          { idempotent: true }
        ).pipe(
          Effect.flatMap((results) =>
            Effect.mapError(
              decodeStored(results[0] ?? []),
              () => new StoreError({ operation: "saveSummary", message: `the answer of ${tables.summaries} does not match its schema` })
            )
          ),
          Effect.map((rows) => rows[0]?.stored === 1)
        )
      }
    })
  })

/** The history store on the `YdbClient` of the context. */
export const HistoryStoreYdb = (tables: YdbTables = ydbTables()) => Layer.effect(HistoryStore, makeHistoryStoreYdb(tables))
