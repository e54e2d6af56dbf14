/**
 * Feedback as a regression set: each answer users reacted to as one JSON line that is both a
 * Telegram update (the question, as the user sent it) and a transcript line (the answer that
 * got the reaction, as the expected reply). `replay FILE --expect FILE` sends the questions
 * through the bot and compares its answers with them; `--expect-mode shape` only checks that
 * each is answered. Each answer once, however many users reacted to it or however many
 * messages it took.
 */
import { FileSystem } from "@effect/platform"
import { Effect } from "effect"
import { type Feedback, type FeedbackKind, FeedbackStore } from "../store/FeedbackStore.ts"

/** The lines of the regression set, in the order of the reactions. */
export const regressionLines = (feedback: ReadonlyArray<Feedback>): ReadonlyArray<string> => {
  const seen = new Set<string>()
  return feedback.flatMap((f, i) => {
    const key = `${f.chatId}:${f.updateId}`
    if (seen.has(key)) return []
    seen.add(key)
    return [JSON.stringify({
      update_id: f.updateId,
      message: {
        message_id: i + 1,
        from: { id: f.userId, is_bot: false, first_name: `User ${f.userId}` },
        chat: f.chatId === f.userId ? { id: f.chatId, type: "private" } : { id: f.chatId, type: "supergroup" },
        date: Math.floor(f.at / 1000),
        text: f.question
      },
      chat_id: f.chatId,
      text: f.answer,
      feedback: f.kind,
      emoji: f.emoji
    })]
  })
}

export interface FeedbackExportOptions {
  /** Only reactions from this time on (epoch millis). */
  readonly since?: number | undefined
  readonly kind?: FeedbackKind | undefined
  readonly out: string
}

/** Writes the regression set of the kept feedback to `out`; how many answers it holds. */
export const exportFeedback = (options: FeedbackExportOptions) =>
  Effect.gen(function*() {
    const store = yield* FeedbackStore
    const fs = yield* FileSystem.FileSystem
    const lines = regressionLines(yield* store.list({ since: options.since, kind: options.kind }))
    yield* fs.writeFileString(options.out, lines.map((line) => `${line}\n`).join(""))
    return lines.length
  })
