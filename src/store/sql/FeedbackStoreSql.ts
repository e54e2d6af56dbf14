/**
 * Feedback on answers on an SQL database (`SqlStores.ts`): tables `feedback_answers` and
 * `feedback` (`../feedbackRows.ts`). A repeated answer record is a no-op (its key); a user's
 * reaction replaces their earlier one on the same message, and a reaction taken away deletes it.
 */
import { SqlClient } from "@effect/sql"
import { Effect, Layer, Option } from "effect"
import { FeedbackStore } from "../FeedbackStore.ts"
import { answerRow, decodeFeedback, feedbackColumns, feedbackTables } from "../feedbackRows.ts"
import { SqlDialect } from "./SqlDialect.ts"

const { answers: answersTable, reactions: reactionsTable } = feedbackTables

export const makeFeedbackStoreSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { call, rows, run, text } = yield* SqlDialect
  const joined = sql.unsafe(`${feedbackColumns} FROM feedback f JOIN feedback_answers a ON a.chat_id = f.chat_id AND a.message_id = f.message_id`)

  return FeedbackStore.of({
    recordAnswer: (answer) => {
      const row = answerRow(answer)
      return call(
        "recordAnswer",
        answersTable,
        run(sql`INSERT INTO feedback_answers ${sql.insert({ ...row, question: text(row.question), answer: text(row.answer) })}
            ON CONFLICT (chat_id, message_id) DO NOTHING`)
      ).pipe(Effect.asVoid)
    },
    react: (reaction) =>
      call(
        "react",
        reactionsTable,
        Effect.gen(function*() {
          const where = sql`chat_id = ${reaction.chatId} AND message_id = ${reaction.messageId}`
          const known = yield* run(sql`SELECT 1 AS known FROM feedback_answers WHERE ${where}`)
          if (known.length === 0 || Option.isNone(reaction.feedback)) {
            yield* run(sql`DELETE FROM feedback WHERE ${where} AND reacted_by = ${reaction.reactedBy}`)
            return Option.none()
          }
          const { emoji, kind } = reaction.feedback.value
          yield* run(sql`
            INSERT INTO feedback (chat_id, message_id, reacted_by, kind, emoji, reacted_at)
            VALUES (${reaction.chatId}, ${reaction.messageId}, ${reaction.reactedBy}, ${kind}, ${text(emoji)}, ${reaction.reactedAt})
            ON CONFLICT (chat_id, message_id, reacted_by)
            DO UPDATE SET kind = excluded.kind, emoji = excluded.emoji, reacted_at = excluded.reacted_at`)
          const kept = yield* run(sql`SELECT ${joined}
            WHERE f.chat_id = ${reaction.chatId} AND f.message_id = ${reaction.messageId} AND f.reacted_by = ${reaction.reactedBy}`)
          return Option.fromNullable((yield* decodeFeedback("react", reactionsTable)(rows(kept)))[0])
        })
      ),
    list: ({ kind, since }) =>
      call(
        "list",
        reactionsTable,
        Effect.flatMap(
          run(sql`SELECT ${joined}
            WHERE f.reacted_at >= ${since ?? 0}${kind === undefined ? sql`` : sql` AND f.kind = ${kind}`}
            ORDER BY f.reacted_at, f.chat_id, f.message_id, f.reacted_by`),
          (result) => decodeFeedback("list", reactionsTable)(rows(result))
        )
      )
  })
})

/** Feedback on the `SqlClient` and `SqlDialect` of the context (SQLite or PostgreSQL, migrated). */
export const FeedbackStoreSql = Layer.effect(FeedbackStore, makeFeedbackStoreSql)
