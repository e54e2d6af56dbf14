/**
 * Groups: which messages the bot answers, and who said what.
 *
 * In a group or supergroup the bot answers a message only when it is addressed (with
 * `GROUP_MODE=addressed`, the default): a `mention` of its `@username`, a `text_mention` of
 * its user, a reply to one of its messages, or a command addressed to it (`/help@username`, or
 * a bare `/help` the bot knows). Any other message is kept in the conversation's history with
 * the speaker's name, as context for the next question, and not answered. `GROUP_MODE=all`
 * answers every message. Private chats are always addressed.
 */
import { Clock, Context, Effect, Layer, Option } from "effect"
import { conversationOf, isGroupChat, threadField } from "../domain/Conversation.ts"
import type { StoreError } from "../domain/errors.ts"
import { type Message, type MessageEntity, messageText, type TelegramId, type User } from "../domain/Update.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import type { BotUser } from "../telegram/BotApiMethods.ts"
import { BotIdentity } from "../telegram/BotIdentity.ts"
import { Commands, parseCommand } from "./Commands.ts"
import { DialogConfig } from "./DialogConfig.ts"

/** How a message addressed the bot. */
export type AddressedBy = "private" | "mention" | "text_mention" | "reply" | "command" | "all"

/** The name a group's history gives a speaker: first and last name. */
export const speakerName = (user: Pick<User, "first_name" | "last_name">): string =>
  [user.first_name, user.last_name].filter((part) => part !== undefined && part !== "").join(" ")

/** The part of `text` an entity covers (offsets and lengths count UTF-16 code units, as JS strings do). */
const entityText = (text: string, entity: MessageEntity): string => text.slice(entity.offset, entity.offset + entity.length)

/**
 * How a group message addresses the bot, if it does. `bot` is the bot's own user (none while
 * `getMe` has not answered: then only a bare known command counts); `knows` tells whether a
 * command name is one the bot answers.
 */
export const addressedBy = (
  message: Message,
  bot: Option.Option<BotUser>,
  knows: (command: string) => boolean
): Option.Option<AddressedBy> => {
  const text = message.text ?? message.caption ?? ""
  const entities = (message.text !== undefined ? message.entities : message.caption_entities) ?? []
  const username = Option.flatMap(bot, (b) => Option.fromNullable(b.username)).pipe(Option.map((u) => u.toLowerCase()))
  const botId = Option.map(bot, (b) => b.id)
  const isBot = (id: number) => Option.contains(botId, id)
  for (const entity of entities) {
    if (entity.type === "mention" && Option.contains(username, entityText(text, entity).slice(1).toLowerCase())) {
      return Option.some("mention")
    }
    if (entity.type === "text_mention" && entity.user !== undefined && isBot(entity.user.id)) return Option.some("text_mention")
  }
  // In a forum topic every message "replies" to the topic's creation message: that is no reply to the bot.
  const quoted = message.reply_to_message
  if (quoted?.from !== undefined && quoted.forum_topic_created === undefined && isBot(quoted.from.id)) return Option.some("reply")
  const command = /^\/[a-zA-Z0-9_]{1,32}(?:@([a-zA-Z0-9_]+))?(?:\s|$)/.exec(text)
  if (command !== null) {
    const to = command[1]
    if (to === undefined) {
      if (Option.exists(parseCommand(text), ({ name }) => knows(name))) return Option.some("command")
    } else if (Option.contains(username, to.toLowerCase())) {
      return Option.some("command")
    }
  }
  return Option.none()
}

export interface AddressingService {
  /**
   * How `message` addresses the bot; none for a group message the bot does not answer, which
   * is then kept in the conversation's history (when it has text) with its speaker's name.
   */
  readonly screen: (updateId: TelegramId, message: Message) => Effect.Effect<Option.Option<AddressedBy>, StoreError>
}

export class Addressing extends Context.Tag("dialog-bot/Addressing")<Addressing, AddressingService>() {}

export const makeAddressing = Effect.gen(function*() {
  const config = yield* DialogConfig
  const identity = yield* BotIdentity
  const commands = yield* Commands
  const history = yield* HistoryStore
  const known = new Set(commands.list.map((c) => c.name))

  /** Keeps an unanswered group message as context for the next question. */
  const keep = (updateId: TelegramId, message: Message) =>
    Option.match(messageText(message), {
      onNone: () => Effect.void,
      onSome: (text) =>
        Effect.gen(function*() {
          const conversation = conversationOf(message)
          yield* history.append({
            chatId: conversation.chatId,
            ...threadField(conversation),
            updateId,
            role: "user",
            text,
            at: yield* Clock.currentTimeMillis,
            ...(message.from === undefined ? {} : { speaker: speakerName(message.from) })
          })
        })
    })

  const screen = (updateId: TelegramId, message: Message) =>
    Effect.gen(function*() {
      if (!isGroupChat(message.chat)) return Option.some<AddressedBy>("private")
      if (config.groupMode === "all") return Option.some<AddressedBy>("all")
      const by = addressedBy(message, yield* identity.me, (name) => known.has(name))
      if (Option.isNone(by)) {
        yield* keep(updateId, message)
        yield* Effect.logDebug("group message not addressed to the bot, kept as context")
      }
      return by
    })

  return Addressing.of({ screen })
})

/** Addressing over the `DialogConfig`, `BotIdentity`, `Commands` and `HistoryStore` of the context. */
export const AddressingLive = Layer.effect(Addressing, makeAddressing)
