/**
 * Guest mode (Bot API 10.0): a user calls the bot into a chat it is not a member of, and the
 * bot answers that one message with `answerGuestQuery` (an article whose text is the answer).
 * The people in the chat wait for it: when the turn is not done within `GUEST_REPLY_WINDOW`
 * (counted from when the bot takes the message up), a short placeholder (`guestPlaceholder`)
 * is posted first, and the answer replaces it with `editMessageText` on the `inline_message_id`
 * Telegram returned. The turn is the caller's own conversation in that chat (`domain/Caller.ts`).
 *
 * One guest query is answered once: the placeholder and the answer are posted under one lock,
 * so that an answer finished while the placeholder is on its way is edited into it, never
 * posted beside it. `answerGuestQuery` is not repeated on failure (a repeat could post twice);
 * the edit is (the same text again changes nothing).
 */
import { Effect, Option, type Scope } from "effect"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { type FormattedText, plain } from "../telegram/format/FormattedText.ts"
import { SendConfig } from "../telegram/SendConfig.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import type { CalledSite } from "./CalledTurn.ts"
import { DialogConfig } from "./DialogConfig.ts"
import type { Conversation } from "../domain/Conversation.ts"

export const makeGuestTurns = Effect.gen(function*() {
  const api = yield* TelegramApi
  const config = yield* DialogConfig
  const profile = yield* BotProfile
  const send = yield* SendConfig
  /** Answers the guest query with `text` (once: a query is answered once); the message posted. */
  const answer = (queryId: string, text: FormattedText) =>
    api.answerGuestQuery(queryId, { id: "answer", title: profile.name, text: text.text, entities: text.entities })

  /**
   * Where the answer to guest query `queryId` goes; the placeholder's timer runs in the scope
   * (the update's handling) from now on.
   */
  const site = (queryId: string, conversation: Conversation): Effect.Effect<CalledSite, never, Scope.Scope> =>
    Effect.gen(function*() {
      const lock = yield* Effect.makeSemaphore(1)
      /** The message posted for the query, once one is. */
      let posted = Option.none<string>()
      const post = (text: FormattedText) =>
        Effect.map(answer(queryId, text), (sent) => {
          posted = Option.some(sent.inline_message_id)
        })
      const deliver = (text: FormattedText) =>
        lock.withPermits(1)(Effect.suspend(() =>
          Option.match(posted, {
            onNone: () => post(text),
            onSome: (inlineMessageId) =>
              api.editInlineMessageText({ inlineMessageId, text: text.text, entities: text.entities }, { retry: send })
          })
        ))
      const placeholder = (yield* userTexts(profile)).guestPlaceholder
      yield* Effect.sleep(config.guestReplyWindow).pipe(
        Effect.zipRight(lock.withPermits(1)(Effect.suspend(() => (Option.isNone(posted) ? post(plain(placeholder)) : Effect.void)))),
        Effect.catchAll((e) => Effect.logWarning(`guest placeholder not posted: ${e.message}`)),
        Effect.forkScoped
      )
      return { conversation, deliver }
    })

  return { site, answer }
})

/** Guest mode as the pipeline and its routes share it (one per pipeline). */
export type GuestTurns = Effect.Effect.Success<typeof makeGuestTurns>
