/**
 * Feedback's rows, the same in SQLite, PostgreSQL and YDB: `feedback_answers` (the bot's
 * messages that answer a question, keyed by chat_id and message_id) and `feedback` (one user's
 * latest reaction on such a message, keyed by chat_id, message_id and reacted_by, read by
 * reacted_at). A reaction is kept only on a known answer; the list joins the two tables.
 */
import { Schema } from "effect"
import { TelegramId } from "../domain/Update.ts"
import type { AnsweredMessage, Feedback } from "./FeedbackStore.ts"
import { decodeRows } from "./usageRows.ts"

export const feedbackTables = { answers: "feedback_answers", reactions: "feedback" } as const

/** An answer as a row of `feedback_answers`. */
export const answerRow = (a: AnsweredMessage) => ({
  chat_id: a.chatId,
  message_id: a.messageId,
  update_id: a.updateId,
  user_id: a.userId,
  question: a.question,
  answer: a.answer,
  at: a.at
})

/** The columns of a joined row, `a` the answer and `f` the reaction. */
export const feedbackColumns =
  "a.chat_id AS chat_id, a.message_id AS message_id, a.update_id AS update_id, a.user_id AS user_id, a.question AS question, a.answer AS answer, a.at AS at, f.kind AS kind, f.emoji AS emoji, f.reacted_by AS reacted_by, f.reacted_at AS reacted_at"

const FeedbackRow = Schema.Struct({
  chat_id: TelegramId,
  message_id: Schema.Number,
  update_id: TelegramId,
  user_id: TelegramId,
  question: Schema.String,
  answer: Schema.String,
  at: Schema.Number,
  kind: Schema.Literal("positive", "negative"),
  emoji: Schema.String,
  reacted_by: TelegramId,
  reacted_at: Schema.Number
})

export const decodeFeedback = decodeRows(FeedbackRow, (r): Feedback => ({
  chatId: r.chat_id,
  messageId: r.message_id,
  updateId: r.update_id,
  userId: r.user_id,
  question: r.question,
  answer: r.answer,
  at: r.at,
  kind: r.kind,
  emoji: r.emoji,
  reactedBy: r.reacted_by,
  reactedAt: r.reacted_at
}))
