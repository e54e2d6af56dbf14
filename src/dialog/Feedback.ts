/**
 * Feedback on answers: the pipeline records the messages of each answer it sends (with the
 * question), and a `message_reaction` update on one of them is kept as positive or negative
 * feedback by the profile's mapping (`feedback`), counted in `bot_feedback_total{kind}`. A
 * reaction on any other message, or one that is neither, is not feedback; taking a reaction
 * away removes the feedback. Recording an answer is best effort: the answer is out already.
 */
import { Clock, Effect, FiberRef, Metric, Option } from "effect"
import { CurrentDelivery } from "../domain/CurrentUpdate.ts"
import type { MessageReactionUpdated, TelegramId } from "../domain/Update.ts"
import { feedbackReceived, withTags } from "../observability/Metrics.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { type AnsweredMessage, FeedbackStore, type FeedbackKind } from "../store/FeedbackStore.ts"

/** Telegram's reactions that read as praise or complaint, where the profile names none. */
const defaultFeedback = {
  positive: ["👍", "❤", "🔥", "👏", "🙏", "👌", "💯", "🏆", "❤‍🔥"],
  negative: ["👎", "💩", "🤬", "😡", "🤮", "🥱", "🤡"]
}

export const makeFeedback = Effect.gen(function*() {
  const profile = yield* BotProfile
  const store = yield* FeedbackStore
  const mapping = profile.feedback ?? defaultFeedback

  /** The first reaction of the update that is feedback, by the profile's mapping. */
  const kindOf = (reaction: MessageReactionUpdated): Option.Option<{ readonly kind: FeedbackKind; readonly emoji: string }> => {
    for (const r of reaction.new_reaction) {
      const emoji = "emoji" in r && typeof r.emoji === "string" ? r.emoji : undefined
      if (emoji === undefined) continue
      if (mapping.negative.includes(emoji)) return Option.some({ kind: "negative", emoji })
      if (mapping.positive.includes(emoji)) return Option.some({ kind: "positive", emoji })
    }
    return Option.none()
  }

  return {
    /** Records the messages the current update sent so far as the answer to `question`. */
    answered: (answer: Omit<AnsweredMessage, "messageId" | "at">): Effect.Effect<void> =>
      Effect.gen(function*() {
        const cell = yield* FiberRef.get(CurrentDelivery)
        const at = yield* Clock.currentTimeMillis
        const ids = Option.match(cell, { onNone: () => [], onSome: (c) => c.messageIds })
        yield* Effect.forEach(ids, (messageId) => store.recordAnswer({ ...answer, messageId, at }), { discard: true })
      }).pipe(Effect.catchAll((e) => Effect.logWarning(`answer not recorded for feedback: ${e.message}`))),

    /** A reaction update: the feedback kept, and why not when it is not. */
    reacted: (reaction: MessageReactionUpdated) =>
      Effect.gen(function*() {
        if (reaction.user === undefined) return "reaction: anonymous"
        const kept = yield* store.react({
          chatId: reaction.chat.id,
          messageId: reaction.message_id,
          reactedBy: reaction.user.id as TelegramId,
          reactedAt: reaction.date * 1000,
          feedback: kindOf(reaction)
        })
        if (Option.isNone(kept)) return "reaction: not feedback on an answer"
        yield* Metric.increment(withTags(feedbackReceived, { kind: kept.value.kind }))
        return `feedback: ${kept.value.kind}`
      })
  }
})

/** The feedback as the pipeline and its routes share it (one per pipeline). */
export type Feedback = Effect.Effect.Success<typeof makeFeedback>
