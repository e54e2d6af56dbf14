/**
 * Turns a user starts from a chat the bot does not talk in: a guest message (Bot API 10.0: the
 * user called the bot into a chat it is not a member of) and an inline result the user sent
 * (`chosen_inline_result`). Each is a conversation of its own, so that it never mixes with the
 * caller's private history:
 *
 * - a guest turn is the guest chat and the caller: `{ chatId: <guest chat>, threadId: -<caller> }`.
 *   The guest chat's id may be the id of another chat with the bot (a private chat's id is the
 *   other user's), so the caller goes into the thread id, negated: Telegram's topic ids are
 *   positive, so no forum topic or private chat ever has this key.
 * - inline turns of a user are one conversation: `{ chatId: <user>, threadId: -1 }` (the chat
 *   they are sent to is not known to the bot). No guest turn has it: no caller's id is 1.
 *
 * Budgets, bans and flood protection apply to the caller (`from`).
 */
import { Option } from "effect"
import { type Conversation, conversationKey } from "./Conversation.ts"
import type { Message, TelegramId, Update, User } from "./Update.ts"

/** The thread id of a user's inline turns. */
const inlineThread = -1

/** The conversation of a guest turn: the guest chat and the caller. */
export const guestConversation = (message: Message, caller: User): Conversation => ({
  chatId: message.chat.id,
  threadId: -caller.id
})

/** Whether a conversation is that of a guest or inline turn (its thread id is negative, as above). */
export const isCalledConversation = (conversation: { readonly threadId?: number | undefined }): boolean =>
  conversation.threadId !== undefined && conversation.threadId < 0

/** The conversation of a user's inline turns. */
export const inlineConversation = (user: User): Conversation => ({ chatId: user.id, threadId: inlineThread })

/** The guest message of an update, with its query id and the user who called the bot. */
export const guestQueryOf = (
  update: Update
): Option.Option<{ readonly message: Message; readonly queryId: string; readonly caller: User }> => {
  const message = update.guest_message
  if (message?.guest_query_id === undefined || message.from === undefined) return Option.none()
  return Option.some({ message, queryId: message.guest_query_id, caller: message.from })
}

/** The user who starts a guest or inline turn with this update (an `inline_query` starts none). */
export const callerOf = (update: Update): Option.Option<TelegramId> =>
  Option.orElse(
    Option.map(guestQueryOf(update), ({ caller }) => caller.id),
    () => Option.fromNullable(update.chosen_inline_result?.from.id)
  )

/** The key of the conversation a guest or inline turn belongs to (its updates are run in order). */
export const callerConversationKey = (update: Update): Option.Option<string> => {
  const guest = guestQueryOf(update)
  if (Option.isSome(guest)) return Option.some(conversationKey(guestConversation(guest.value.message, guest.value.caller)))
  const chosen = update.chosen_inline_result
  return chosen === undefined ? Option.none() : Option.some(conversationKey(inlineConversation(chosen.from)))
}
