/** Feedback on answers in memory (tests, `STORE=memory`). */
import { Effect, Layer, Option } from "effect"
import { type AnsweredMessage, type Feedback, FeedbackStore } from "../FeedbackStore.ts"

export const makeFeedbackStoreMemory = Effect.sync(() => {
  const answers = new Map<string, AnsweredMessage>()
  /** By message and the user who reacted. */
  const feedback = new Map<string, Feedback>()
  const messageKey = (chatId: number, messageId: number) => `${chatId}:${messageId}`
  return FeedbackStore.of({
    recordAnswer: (answer) => Effect.sync(() => void answers.set(messageKey(answer.chatId, answer.messageId), answer)),
    react: (reaction) =>
      Effect.sync(() => {
        const answer = answers.get(messageKey(reaction.chatId, reaction.messageId))
        const key = `${messageKey(reaction.chatId, reaction.messageId)}:${reaction.reactedBy}`
        if (answer === undefined || Option.isNone(reaction.feedback)) {
          feedback.delete(key)
          return Option.none()
        }
        const kept: Feedback = { ...answer, ...reaction.feedback.value, reactedBy: reaction.reactedBy, reactedAt: reaction.reactedAt }
        feedback.set(key, kept)
        return Option.some(kept)
      }),
    list: ({ kind, since }) =>
      Effect.sync(() =>
        [...feedback.values()]
          .filter((f) => (since === undefined || f.reactedAt >= since) && (kind === undefined || f.kind === kind))
          .sort((a, b) => a.reactedAt - b.reactedAt)
      )
  })
})

export const FeedbackStoreMemory = Layer.effect(FeedbackStore, makeFeedbackStoreMemory)
