/**
 * Telegram Business: the bot answering customers on a business owner's account.
 *
 * `business_connection` updates are stored (`ConversationState`, key `business:<id>`); a
 * connection the bot has not seen is asked for with `getBusinessConnection`. A customer's
 * `business_message` is answered on its connection (the answer's destination carries the
 * `business_connection_id`, see `destinationOf`), unless the connection is disabled or may not
 * reply (the message is kept in the history, not answered, and logged). The owner's own
 * messages in a business chat are never answered: they are kept in the history as the
 * business side's words and pause the bot in that chat for `OWNER_TAKEOVER_PAUSE` (key
 * `takeover:<conversation key>`), so the owner takes a conversation over by simply writing.
 * While paused, the customer's messages are kept in the history and not answered.
 */
import { Clock, Context, Duration, Effect, Layer, Option, Schema } from "effect"
import {
  type BusinessConnection,
  decodeBusinessConnection,
  decodeBusinessMessagesDeleted,
  mayReply
} from "../domain/BusinessConnection.ts"
import { conversationKey, conversationOf, threadField } from "../domain/Conversation.ts"
import type { Role } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import { type Message, messageText, type TelegramId } from "../domain/Update.ts"
import { ConversationState } from "../store/ConversationState.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { DialogConfig } from "./DialogConfig.ts"

export interface BusinessService {
  /** Stores a `business_connection` update's connection; returns what was done. */
  readonly connection: (payload: unknown) => Effect.Effect<string, StoreError>
  /** Acknowledges a `deleted_business_messages` update; returns what was done. */
  readonly deleted: (payload: unknown) => Effect.Effect<string>
  /**
   * Why a business message is not answered (the owner's own, a paused chat, a connection that
   * may not reply), having kept it in the history; none for a message to answer (and for any
   * message that is not a business message).
   */
  readonly screen: (updateId: TelegramId, message: Message) => Effect.Effect<Option.Option<string>, StoreError>
}

export class Business extends Context.Tag("dialog-bot/Business")<Business, BusinessService>() {}

const Takeover = Schema.parseJson(Schema.Struct({ until: Schema.Number }))
const StoredConnection = Schema.parseJson(Schema.typeSchema(
  Schema.Struct({ id: Schema.String, ownerId: Schema.Number, enabled: Schema.Boolean, canReply: Schema.Boolean })
))
type StoredConnection = typeof StoredConnection.Type

const connectionKey = (id: string) => `business:${id}`
const takeoverKey = (message: Message) => `takeover:${conversationKey(conversationOf(message))}`

const stored = (connection: BusinessConnection): StoredConnection => ({
  id: connection.id,
  ownerId: connection.user.id,
  enabled: connection.is_enabled,
  canReply: mayReply(connection)
})

export const makeBusiness = Effect.gen(function*() {
  const config = yield* DialogConfig
  const state = yield* ConversationState
  const history = yield* HistoryStore
  const api = yield* TelegramApi

  const save = (connection: StoredConnection) =>
    Effect.as(state.put(connectionKey(connection.id), Schema.encodeSync(StoredConnection)(connection)), connection)

  /** The connection as stored, or as Telegram describes it now; none when neither knows it. */
  const connectionOf = (id: string): Effect.Effect<Option.Option<StoredConnection>, StoreError> =>
    Effect.flatMap(state.get(connectionKey(id)), (value) => {
      const known = Option.flatMap(value, Schema.decodeUnknownOption(StoredConnection))
      if (Option.isSome(known)) return Effect.succeed(known)
      return api.getBusinessConnection(id).pipe(
        Effect.map(stored),
        Effect.flatMap(save),
        Effect.asSome,
        Effect.catchTag("TelegramApiError", "TelegramTransportError", (e) =>
          Effect.as(Effect.logWarning(`business connection ${id} not known: ${e.message}`), Option.none<StoredConnection>()))
      )
    })

  /** Keeps a message the bot does not answer in the conversation's history. */
  const keep = (updateId: TelegramId, message: Message, role: Role) =>
    Option.match(messageText(message), {
      onNone: () => Effect.void,
      onSome: (text) =>
        Effect.flatMap(Clock.currentTimeMillis, (at) =>
          history.append({ chatId: message.chat.id, ...threadField(conversationOf(message)), updateId, role, text, at }))
    })

  const connection = (payload: unknown) =>
    decodeBusinessConnection(payload).pipe(
      Effect.matchEffect({
        onFailure: (e) => Effect.as(Effect.logWarning(`business_connection not understood: ${e.message}`), "business connection not understood"),
        onSuccess: (c) =>
          Effect.as(
            Effect.zipRight(
              save(stored(c)),
              Effect.logInfo(`business connection ${c.id}: ${c.is_enabled ? "enabled" : "disabled"}, ${mayReply(c) ? "may" : "may not"} reply`)
            ),
            "business connection stored"
          )
      })
    )

  const deleted = (payload: unknown) =>
    decodeBusinessMessagesDeleted(payload).pipe(
      Effect.matchEffect({
        onFailure: (e) => Effect.as(Effect.logWarning(`deleted_business_messages not understood: ${e.message}`), "deleted business messages not understood"),
        onSuccess: (d) =>
          Effect.as(
            Effect.logInfo(`${d.message_ids.length} business messages deleted in chat ${d.chat.id}`),
            "deleted business messages acknowledged"
          )
      })
    )

  const screen = (updateId: TelegramId, message: Message) =>
    Effect.gen(function*() {
      const id = message.business_connection_id
      if (id === undefined) return Option.none<string>()
      // The bot's own messages sent on the owner's behalf come back as business messages.
      if (message.sender_business_bot !== undefined) return Option.some("sent by the bot on the owner's behalf")
      const connection = yield* connectionOf(id)
      const from = message.from?.id
      // In a business chat the chat is the customer's: a sender who is not the customer is the owner.
      const owner = Option.isSome(connection) ? from === connection.value.ownerId : from !== message.chat.id
      const now = yield* Clock.currentTimeMillis
      if (owner) {
        yield* keep(updateId, message, "assistant")
        if (Duration.toMillis(config.ownerTakeoverPause) > 0) {
          const until = now + Duration.toMillis(config.ownerTakeoverPause)
          yield* state.put(takeoverKey(message), Schema.encodeSync(Takeover)({ until }))
          yield* Effect.logInfo(`the owner wrote in business chat ${message.chat.id}: the bot keeps quiet until ${new Date(until).toISOString()}`)
        }
        return Option.some("the owner's own message")
      }
      const takeover = Option.flatMap(yield* state.get(takeoverKey(message)), Schema.decodeUnknownOption(Takeover))
      if (Option.isSome(takeover) && takeover.value.until > now) {
        yield* keep(updateId, message, "user")
        return Option.some("the owner took the chat over")
      }
      if (Option.isSome(takeover)) yield* state.remove(takeoverKey(message))
      if (Option.isSome(connection) && (!connection.value.enabled || !connection.value.canReply)) {
        yield* keep(updateId, message, "user")
        const why = connection.value.enabled ? "may not reply" : "is disabled"
        yield* Effect.logWarning(`business connection ${id} ${why}: message kept, not answered`)
        return Option.some(`business connection ${why}`)
      }
      return Option.none<string>()
    })

  return Business.of({ connection, deleted, screen })
})

/** Business chats over the `DialogConfig`, `ConversationState`, `HistoryStore` and `TelegramApi` of the context. */
export const BusinessLive = Layer.effect(Business, makeBusiness)
