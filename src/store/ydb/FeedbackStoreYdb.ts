/**
 * Feedback on answers on YDB (tables `feedback_answers` and `feedback`, `./schema.ts`; rows as in
 * `../feedbackRows.ts`). An answer is an INSERT of its message: a key conflict means it was
 * recorded before. A user's reaction is an UPSERT by (chat, message, user), kept only on a known
 * answer; a reaction taken away is a DELETE.
 */
import { identifier } from "@ydbjs/query"
import { Effect, Layer, Option } from "effect"
import { FeedbackStore } from "../FeedbackStore.ts"
import { answerRow, decodeFeedback, feedbackColumns } from "../feedbackRows.ts"
import { int64, onKeyConflict, optionalText, text } from "./statements.ts"
import { ydbTables, type YdbTables } from "./schema.ts"
import { YdbClient } from "./YdbClient.ts"

export const makeFeedbackStoreYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const answers = identifier(tables.feedbackAnswers)
    const reactions = identifier(tables.feedback)
    return FeedbackStore.of({
      recordAnswer: (answer) => {
        const row = answerRow(answer)
        return ydb.run(
          "recordAnswer",
          tables.feedbackAnswers,
          (sql) =>
            sql`INSERT INTO ${answers} (chat_id, message_id, update_id, user_id, question, answer, at)
                VALUES (${int64(row.chat_id)}, ${int64(row.message_id)}, ${int64(row.update_id)}, ${int64(row.user_id)},
                        ${text(row.question)}, ${text(row.answer)}, ${int64(row.at)})`,
          { idempotent: true, onStatus: onKeyConflict }
        ).pipe(Effect.asVoid)
      },
      react: (reaction) =>
        Effect.gen(function*() {
          const chat = int64(reaction.chatId)
          const message = int64(reaction.messageId)
          const by = int64(reaction.reactedBy)
          const known = yield* ydb.run(
            "react",
            tables.feedbackAnswers,
            (sql) => sql`SELECT chat_id FROM ${answers} WHERE chat_id = ${chat} AND message_id = ${message}`,
            { idempotent: true }
          )
          if ((known[0] ?? []).length === 0 || Option.isNone(reaction.feedback)) {
            yield* ydb.run(
              "react",
              tables.feedback,
              (sql) => sql`DELETE FROM ${reactions} WHERE chat_id = ${chat} AND message_id = ${message} AND reacted_by = ${by}`,
              { idempotent: true }
            )
            return Option.none()
          }
          const { emoji, kind } = reaction.feedback.value
          const kept = yield* ydb.run(
            "react",
            tables.feedback,
            (sql) =>
              sql`UPSERT INTO ${reactions} (chat_id, message_id, reacted_by, kind, emoji, reacted_at)
                  VALUES (${chat}, ${message}, ${by}, ${text(kind)}, ${text(emoji)}, ${int64(reaction.reactedAt)});
                  SELECT ${sql.unsafe(feedbackColumns)} FROM ${reactions} AS f
                  JOIN ${answers} AS a ON a.chat_id = f.chat_id AND a.message_id = f.message_id
                  WHERE f.chat_id = ${chat} AND f.message_id = ${message} AND f.reacted_by = ${by};`,
            { idempotent: true }
          )
          return Option.fromNullable((yield* decodeFeedback("react", tables.feedback)(kept[0] ?? []))[0])
        }),
      list: ({ kind, since }) =>
        ydb.run(
          "list",
          tables.feedback,
          (sql) =>
            sql`SELECT ${sql.unsafe(feedbackColumns)} FROM ${reactions} AS f
                JOIN ${answers} AS a ON a.chat_id = f.chat_id AND a.message_id = f.message_id
                WHERE f.reacted_at >= ${int64(since ?? 0)} AND (${optionalText(kind)} IS NULL OR f.kind = ${optionalText(kind)})
                ORDER BY reacted_at, chat_id, message_id, reacted_by`,
          { idempotent: true }
        ).pipe(Effect.flatMap((results) => decodeFeedback("list", tables.feedback)(results[0] ?? [])))
    })
  })

/** Feedback on the `YdbClient` of the context. */
export const FeedbackStoreYdb = (tables: YdbTables = ydbTables()) => Layer.effect(FeedbackStore, makeFeedbackStoreYdb(tables))
