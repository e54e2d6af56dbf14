/**
 * How a turn a user started from another chat is answered: a guest message (`GuestTurns.ts`) or
 * an inline result the user sent (`InlineQueries.ts`). The bot cannot send messages there; it
 * answers the guest query or edits the inline message, so the answer is not streamed: it goes
 * out once, as text with entities, in one message (an inline message holds one: a longer answer
 * is cut at Telegram's limit).
 */
import { Effect } from "effect"
import type { Conversation } from "../domain/Conversation.ts"
import type { FormattedText } from "../telegram/format/FormattedText.ts"
import { splitFormatted } from "../telegram/splitText.ts"
import type { AnswerStream } from "../telegram/StreamingReplies.ts"
import type { TelegramError } from "../telegram/TelegramApi.ts"

export interface CalledSite {
  /** The conversation the turn belongs to (`domain/Caller.ts`). */
  readonly conversation: Conversation
  /** Puts a text where the user sees the answer: the final answer, or a notice instead of it. */
  readonly deliver: (text: FormattedText) => Effect.Effect<void, TelegramError>
}

/** The answer of a called turn as the pipeline writes it: nothing shown before the end, then one message. */
export const calledAnswer = (site: CalledSite, toEntities: (markdown: string) => FormattedText): AnswerStream => ({
  live: Effect.succeed(false),
  show: () => {},
  working: () => {},
  draftId: undefined,
  stop: Effect.succeed({ shown: "", keep: false }),
  finish: (markdown) => {
    const formatted = toEntities(markdown)
    return Effect.as(site.deliver(splitFormatted(formatted)[0] ?? formatted), 1)
  }
})
