/**
 * What happens while a conversation is handed off to a colleague (`Handoff`, src/handoff/).
 *
 * - A message in the handoff chat (`HANDOFF_CHAT_ID`) from a person, in the topic of a
 *   handoff, goes to the customer: a text with `sendMessage` to the customer's conversation
 *   (its forum topic and business connection kept), media with `copyMessage` (a business chat
 *   takes no copies: the caption goes as text and the topic is told). A message that cannot be
 *   delivered gets a note in the topic. What operators write is kept in the customer's history
 *   as the business side's words, so the bot knows it when the chat comes back.
 * - `/done` (or `/done@bot`) in the topic, or its "Back to bot" button (`handoff:done`, the
 *   callback answered), gives the chat back: the customer is told (`handoffEnded`), the topic
 *   closed and the handoff removed from the store.
 * - A customer's message while handed off is kept in the history and copied into the topic
 *   (as a text when Telegram refuses the copy); the model is not asked.
 * - Any other message in the handoff chat (the General topic, a topic of no handoff, a bot's,
 *   a service message) is acknowledged and ignored (logged at debug level).
 */
import { Clock, Effect, Option, Schema } from "effect"
import { commitAnswer } from "../domain/CurrentUpdate.ts"
import { conversationOf, isGroupChat, threadField, topicOf } from "../domain/Conversation.ts"
import type { Role } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import { type CallbackQuery, hasMedia, type Message, messageText, type TelegramId } from "../domain/Update.ts"
import { countHandoff, Handoff } from "../handoff/Handoff.ts"
import { conversationOfRecord, customerDestination, type HandoffRecord, topicDestination } from "../handoff/HandoffRecords.ts"
import { backToBotData } from "../handoff/summary.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { BotIdentity } from "../telegram/BotIdentity.ts"
import { EntityType, type TextEntity } from "../telegram/format/FormattedText.ts"
import { Messenger, type SendError } from "../telegram/Messenger.ts"
import { SendConfig } from "../telegram/SendConfig.ts"
import { type CallOptions, TelegramApi, type TelegramError } from "../telegram/TelegramApi.ts"
import { speakerName } from "./Addressing.ts"

/** Why a message was handled by the handoff (and not by the dialog), for the update's outcome. */
export type Routed = Option.Option<string>

const isEntityType = Schema.is(EntityType)

/** The formatting of an operator's text that can go on as it is (links and mentions do not). */
const entitiesOf = (message: Message): ReadonlyArray<TextEntity> =>
  (message.entities ?? []).flatMap((e) => {
    const type = e.type
    return isEntityType(type) && type !== "text_link" ? [{ type, offset: e.offset, length: e.length }] : []
  })

/** `/done`, `/done@name` or `/DONE …`: the name it is addressed to (`""` when none); none for other texts. */
const doneCommand = (text: string): Option.Option<string> => {
  const match = /^\/done(?:@([A-Za-z0-9_]+))?(?:\s|$)/i.exec(text)
  return match === null ? Option.none() : Option.some(match[1] ?? "")
}

/** A short description of a Bot API or send failure for the operator's note. */
const describeFailure = (e: Exclude<SendError, StoreError>): string =>
  e._tag === "RecipientBlocked" ? "the customer blocked the bot" : e.message

export const makeHandoffRouting = Effect.gen(function*() {
  const handoff = yield* Handoff
  const messenger = yield* Messenger
  const api = yield* TelegramApi
  const history = yield* HistoryStore
  const profile = yield* BotProfile
  const identity = yield* BotIdentity
  // The retry policy of sending (429, 5xx, connection errors), as the messenger's.
  const retried: CallOptions = { retry: yield* SendConfig }
  const ignored = (why: string) => Effect.as(Effect.logDebug(`handoff chat: ${why}, ignored`), Option.some(`handoff chat: ${why}`))

  /** Keeps a message of a handed-off conversation in its history. */
  const keep = (record: HandoffRecord, updateId: TelegramId, message: Message, role: Role) =>
    Option.match(messageText(message), {
      onNone: () => Effect.void,
      onSome: (text) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          history.append({
            ...conversationOfRecord(record),
            updateId,
            role,
            text,
            at,
            ...(role === "user" && isGroupChat(message.chat) && message.from !== undefined ? { speaker: speakerName(message.from) } : {})
          }))
    })

  /** A note to the operators in the topic; best effort: whether Telegram took it, else why not. */
  const tryNote = (record: HandoffRecord, text: string) =>
    api.sendMessage({ ...topicDestination(record), text }, retried).pipe(
      Effect.as(Option.none<TelegramError>()),
      Effect.catchAll((e) => Effect.as(Effect.logWarning(`note not sent to handoff topic ${record.topicId}: ${e.message}`), Option.some(e)))
    )
  const note = (record: HandoffRecord, text: string) => Effect.asVoid(tryNote(record, text))

  /** Gives the conversation back to the bot: the customer told, the topic closed, the handoff removed. */
  const end = (record: HandoffRecord, by: string) =>
    Effect.gen(function*() {
      yield* Effect.zipRight(commitAnswer, messenger.reply(customerDestination(record), profile.texts.handoffEnded)).pipe(
        Effect.catchIf((e) => e._tag !== "StoreError", (e) => Effect.logWarning(`customer not told the handoff ended: ${e.message}`))
      )
      yield* api.closeForumTopic(record.handoffChatId, record.topicId, retried).pipe(
        Effect.catchAll((e) => Effect.logWarning(`handoff topic ${record.topicId} not closed: ${e.message}`))
      )
      yield* handoff.records.remove(record)
      yield* countHandoff("ended")
      yield* Effect.logInfo(`conversation of chat ${record.chatId} back with the bot (${by})`)
    })

  /** An operator's message to the customer: text as a message, media as a copy. */
  const toCustomer = (record: HandoffRecord, updateId: TelegramId, message: Message) =>
    Effect.gen(function*() {
      const to = customerDestination(record)
      const text = messageText(message)
      yield* commitAnswer
      const sending: Effect.Effect<unknown, SendError> = !hasMedia(message)
        ? messenger.reply(to, { text: Option.getOrElse(text, () => ""), entities: entitiesOf(message) })
        : to.businessConnectionId === undefined
        ? messenger.deliver(to, (options) =>
          Effect.asVoid(api.copyMessage({ to, fromChatId: record.handoffChatId, messageId: message.message_id }, options)))
        // copyMessage takes no business connection: the caption goes on, the operators are told.
        : Effect.zipRight(
          Option.match(text, { onNone: () => Effect.void, onSome: (caption) => Effect.asVoid(messenger.reply(to, caption)) }),
          note(record, profile.texts.handoffNotDelivered.replaceAll("{reason}", "media cannot be copied into a business chat"))
        )
      return yield* sending.pipe(
        // Kept once sent: the bot knows afterwards what the customer was told.
        Effect.zipRight(keep(record, updateId, message, "assistant")),
        Effect.zipLeft(countHandoff("to_customer")),
        Effect.as(Option.some("handoff: the operator's message sent to the customer")),
        Effect.catchIf((e) => e._tag !== "StoreError", (e) =>
          Effect.zipRight(
            Effect.zipRight(
              Effect.zipRight(countHandoff("not_delivered"), Effect.logWarning(`operator's message not delivered to chat ${record.chatId}: ${e.message}`)),
              note(record, profile.texts.handoffNotDelivered.replaceAll("{reason}", describeFailure(e)))
            ),
            Effect.succeed(Option.some("handoff: the operator's message not delivered"))
          ))
      )
    })

  /** A message in the handoff chat: an operator's in a handoff's topic, or ignored. */
  const operator = (updateId: TelegramId, message: Message): Effect.Effect<Routed, StoreError> =>
    Effect.gen(function*() {
      if (Option.isNone(handoff.chatId) || message.chat.id !== handoff.chatId.value) return Option.none()
      const chatId = handoff.chatId.value
      // An anonymous admin writes as the chat itself (its `from` is Telegram's GroupAnonymousBot).
      const anonymousAdmin = message.sender_chat?.id === chatId
      if (!anonymousAdmin && (message.from === undefined || message.from.is_bot)) return yield* ignored("a bot's message")
      const topic = topicOf(message)
      if (topic === undefined) return yield* ignored("a message outside the topics")
      const record = yield* handoff.records.byTopic(chatId, topic)
      if (Option.isNone(record)) return yield* ignored(`a message in topic ${topic}, which is no customer's`)
      const done = Option.flatMap(messageText(message), doneCommand)
      if (Option.isSome(done)) {
        const me = Option.flatMap(yield* identity.me, (bot) => Option.fromNullable(bot.username))
        if (done.value !== "" && Option.isSome(me) && done.value.toLowerCase() !== me.value.toLowerCase()) {
          return yield* ignored("a command for another bot")
        }
        yield* end(record.value, "/done")
        return Option.some("handoff: ended with /done")
      }
      if (Option.isNone(messageText(message)) && !hasMedia(message)) return yield* ignored("a service message")
      return yield* toCustomer(record.value, updateId, message)
    })

  /**
   * A customer's message while handed off: kept, and copied into the topic. When Telegram
   * refuses both the copy and its text in the topic (the topic was deleted, the bot left the
   * chat), the handoff ends and the message goes to the dialog: the customer is not left
   * talking to nobody.
   */
  const customer = (updateId: TelegramId, message: Message): Effect.Effect<Routed, StoreError> =>
    Effect.gen(function*() {
      if (Option.isNone(handoff.chatId)) return Option.none()
      const record = yield* handoff.records.get(conversationOf(message))
      // The update that started the handoff, run again after a crash, goes its usual way (and reuses the topic).
      if (Option.isNone(record) || record.value.updateId === updateId) return Option.none()
      const topic = topicDestination(record.value)
      const copied = yield* messenger.deliver(topic, (options) =>
        Effect.asVoid(api.copyMessage({ to: topic, fromChatId: message.chat.id, messageId: message.message_id }, options))).pipe(
          Effect.as(Option.none<TelegramError>()),
          Effect.catchIf((e) => e._tag !== "StoreError", (e) => {
            const who = message.from === undefined ? String(message.chat.id) : speakerName(message.from)
            const text = `${who}: ${Option.getOrElse(messageText(message), () => "[media]")}`
            return Effect.zipRight(
              Effect.logWarning(`customer's message not copied into topic ${topic.threadId}, sending its text: ${e.message}`),
              tryNote(record.value, text)
            )
          })
        )
      if (Option.isSome(copied) && copied.value._tag === "TelegramApiError") {
        yield* handoff.records.remove(record.value)
        yield* Effect.logWarning(
          `handoff topic ${record.value.topicId} refuses messages (${copied.value.message}): the conversation of chat ${record.value.chatId} is back with the bot`
        )
        return Option.none()
      }
      yield* keep(record.value, updateId, message, "user")
      yield* countHandoff("to_topic")
      return Option.some("handoff: the customer's message copied into the topic")
    })

  /** The "Back to bot" button of a topic; none for other buttons. */
  const callback = (query: CallbackQuery): Effect.Effect<Routed, StoreError> =>
    Effect.gen(function*() {
      if (query.data !== backToBotData || Option.isNone(handoff.chatId)) return Option.none()
      const answer = api.answerCallbackQuery(query.id).pipe(
        Effect.catchAll((e) => Effect.logWarning(`answerCallbackQuery failed: ${e.message}`))
      )
      const message = query.message
      const topic = message === undefined || message.chat.id !== handoff.chatId.value ? undefined : topicOf(message)
      const record = topic === undefined ? Option.none() : yield* handoff.records.byTopic(handoff.chatId.value, topic)
      // Answered first: the operator's spinner stops whatever the rest takes.
      yield* answer
      if (Option.isNone(record)) return Option.some("handoff: button of no open handoff")
      yield* end(record.value, "the button")
      return Option.some("handoff: ended with the button")
    })

  return { operator, customer, callback }
})

/** The handoff's routes as the pipeline and its routes share them (one per pipeline). */
export type HandoffRouting = Effect.Effect.Success<typeof makeHandoffRouting>
