/**
 * The bot's reactions on a user's message (`setMessageReaction`): `REACT_ON_RECEIPT` (e.g. 👀)
 * when the message's turn starts, so the user sees it was taken up; `REACT_ON_ANSWER` in its
 * place once the answer is sent, or, without it, the receipt reaction taken away. Unset, the
 * bot does not react. Best effort: a reaction Telegram refuses (an emoji it does not allow in
 * the chat, a business chat) is one log line and never holds up the answer.
 */
import { Effect, Option } from "effect"
import { destinationOf } from "../domain/Destination.ts"
import type { Message } from "../domain/Update.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { DialogConfig } from "./DialogConfig.ts"

export const makeReactions = Effect.gen(function*() {
  const config = yield* DialogConfig
  const api = yield* TelegramApi

  const react = (message: Message, emoji: string | undefined) =>
    // The Bot API sets reactions in ordinary chats only, not through a business connection.
    destinationOf(message).businessConnectionId !== undefined ? Effect.void : api.setMessageReaction({
      chatId: message.chat.id,
      messageId: message.message_id,
      emoji
    }).pipe(
      Effect.catchAll((e) => Effect.logWarning(`reaction not set on message ${message.message_id}: ${e.message}`))
    )

  return {
    /** The receipt reaction, when the message's turn starts and `REACT_ON_RECEIPT` is set (none otherwise). */
    received: (message: Message): Option.Option<Effect.Effect<void>> =>
      Option.map(config.reactOnReceipt, (emoji) => react(message, emoji)),
    /** The answer's reaction in place of the receipt's (or the receipt's removed), once the answer is sent. */
    answered: (message: Message): Effect.Effect<void> =>
      Option.isSome(config.reactOnAnswer)
        ? react(message, config.reactOnAnswer.value)
        : Option.isSome(config.reactOnReceipt)
        ? react(message, undefined)
        : Effect.void
  }
})
