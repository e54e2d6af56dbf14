/**
 * Messages in a group that only one member sees: Bot API ephemeral messages (10.2; since 10.3
 * `sendMessage` takes them as `ephemeral_message_parameters: { receiver_user_id }`). Telegram
 * answers an ephemeral message with `ephemeral_message_id` (and `receiver_user`), its
 * `message_id` 0.
 *
 * A Bot API server that does not know them says so in one of two ways, and either turns them off
 * for the rest of the process, with one log line, so that callers go their old way at once:
 *
 * - it refuses the call: a 404, or a 400 saying the method or the parameter is unknown or not
 *   supported (a 400 about the receiver or the chat is the caller's, for that message only);
 * - it ignores the parameter and sends an ordinary message, seen by the whole group: the answer
 *   has no `ephemeral_message_id`. That message is deleted at once.
 *
 * Any other failure (the chat gone, a network error) is the caller's, and changes nothing here.
 */
import { Context, Effect, Layer, Ref, Schema } from "effect"
import type { TelegramId } from "../domain/Update.ts"
import { TelegramApi, type TelegramError } from "./TelegramApi.ts"

/** What `sendMessage` answers, as far as this module reads it. */
const Sent = Schema.Struct({
  message_id: Schema.Number,
  ephemeral_message_id: Schema.optional(Schema.Number)
})

/** The server does not know ephemeral messages (the method or the parameter). */
export const isEphemeralRefused = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" &&
  (error.errorCode === 404 ||
    (error.errorCode === 400 &&
      /method not found|unknown method|not supported|unsupported|unknown (parameter|field)/i
        .test(error.description)))

export interface EphemeralMessagesService {
  /**
   * Sends `text` to a group (a topic of it with `threadId`) for `receiverId`'s eyes only: true
   * when it went out so; false when the server does not know ephemeral messages (learned now or
   * before), and nothing is left in the group.
   */
  readonly send: (
    message: { readonly chatId: TelegramId; readonly threadId?: number | undefined; readonly receiverId: TelegramId; readonly text: string }
  ) => Effect.Effect<boolean, TelegramError>
}

export class EphemeralMessages extends Context.Tag("dialog-bot/EphemeralMessages")<EphemeralMessages, EphemeralMessagesService>() {}

export const makeEphemeralMessages = Effect.gen(function*() {
  const api = yield* TelegramApi
  const unsupported = yield* Ref.make(false)

  /** Turns ephemeral messages off for the process; the log line is written once. */
  const turnOff = (why: string) =>
    Effect.flatMap(Ref.getAndSet(unsupported, true), (before) =>
      before ? Effect.void : Effect.logWarning(`ephemeral messages are off for this process: ${why}`))

  const send: EphemeralMessagesService["send"] = ({ chatId, receiverId, text, threadId }) =>
    Effect.flatMap(Ref.get(unsupported), (off) =>
      off ? Effect.succeed(false) : api.call(
        "sendMessage",
        {
          chat_id: chatId,
          ...(threadId === undefined ? {} : { message_thread_id: threadId }),
          text,
          ephemeral_message_parameters: { receiver_user_id: receiverId }
        },
        Sent
      ).pipe(
        Effect.flatMap((sent) =>
          sent.ephemeral_message_id !== undefined ? Effect.succeed(true) : Effect.gen(function*() {
            // Sent to everyone: taken back before the group reads it.
            yield* api.call("deleteMessage", { chat_id: chatId, message_id: sent.message_id }, Schema.Unknown).pipe(
              Effect.catchAll((e) => Effect.logWarning(`a message meant for one member was not deleted: ${e.message}`))
            )
            yield* turnOff("the Bot API server sent one to the whole group (it ignores ephemeral_message_parameters)")
            return false
          })
        ),
        Effect.catchIf(isEphemeralRefused, (e) => Effect.as(turnOff(`the Bot API server refused one (${e.message})`), false))
      ))

  return EphemeralMessages.of({ send })
})

export const EphemeralMessagesLive = Layer.effect(EphemeralMessages, makeEphemeralMessages)
