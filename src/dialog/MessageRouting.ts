/**
 * What a message becomes before (and instead of) a dialog. In order: an operator's message in
 * the handoff chat goes to its customer (`HandoffRouting.ts`); a payment is credited
 * (`Admission.ts`); the owner's own business messages, paused business chats and group
 * messages not addressed to the bot are kept as context (`Business.ts`, `Addressing.ts`); a
 * conversation handed off to a colleague sends its messages to their topic. Voice notes,
 * photos and documents become the user's turn (`MediaTurn`, src/media/); media without text and
 * empty texts get a fixed answer; commands (the `Commands` registry) answer without the model.
 * What is left, once the user is admitted (bans, budget), is a dialog turn (`DialogPipeline.ts`).
 */
import { Effect, Either, FiberRef, Option } from "effect"
import { conversationOf, threadField } from "../domain/Conversation.ts"
import { commitAnswer } from "../domain/CurrentUpdate.ts"
import { type Destination, destinationOf, type To } from "../domain/Destination.ts"
import { CurrentMergedParts } from "../domain/MergedTurn.ts"
import { hasMedia, type Message, messageText, type TelegramId } from "../domain/Update.ts"
import { MediaTurn } from "../media/MediaTurn.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { Messenger } from "../telegram/Messenger.ts"
import { StreamingReplies } from "../telegram/StreamingReplies.ts"
import type { Standing } from "../usage/Budget.ts"
import { Addressing } from "./Addressing.ts"
import type { Admission } from "./Admission.ts"
import { Business } from "./Business.ts"
import { Commands } from "./Commands.ts"
import type { HandoffRouting } from "./HandoffRouting.ts"
import { earlierAddressed } from "./mergedTurnText.ts"
import { type DialogTurn, type Outcome, type PipelineError, skipped } from "./Outcome.ts"

export const makeMessageRouting = (parts: {
  readonly handoff: HandoffRouting
  readonly admission: Admission
  readonly turn: DialogTurn
}) =>
  Effect.gen(function*() {
    const { admission, handoff, turn } = parts
    const profile = yield* BotProfile
    const commands = yield* Commands
    const messenger = yield* Messenger
    const media = yield* MediaTurn
    const addressing = yield* Addressing
    const business = yield* Business
    const replies = yield* StreamingReplies
    /** Sends the update's answer; once it starts, the update's deadline lets it finish. */
    const answer = (to: To, text: string) => Effect.zipRight(commitAnswer, messenger.reply(to, text))
    /** A dialog shown at work: `typing` while it runs, unless its answer streams into drafts (they show it). */
    const working = <A, E, R>(to: Destination, message: Message, effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(replies.showsDrafts(to, message.chat.type), (drafts) => (drafts ? effect : messenger.whileTyping(to, effect)))

    /** The user's standing before a dialog, or the outcome of the notice sent instead (`Admission.ts`). */
    const admitted = (to: To, userId: TelegramId, chatId: TelegramId): Effect.Effect<Either.Either<Option.Option<Standing>, Outcome>, PipelineError> =>
      Effect.map(admission.admitted(answer, to, userId, chatId), Either.mapLeft((reason): Outcome => ({ _tag: "Replied", reason })))

    /** Handles message `message` of update `updateId`: what became of it. */
    return (updateId: TelegramId, message: Message): Effect.Effect<Outcome, PipelineError> =>
      Effect.gen(function*() {
        // Operators' messages in the handoff chat go to their customers (HandoffRouting.ts).
        const routed = yield* handoff.operator(updateId, message)
        if (Option.isSome(routed)) return skipped(routed.value)
        const from = message.from
        if (from === undefined || from.is_bot) return { _tag: "Skipped", reason: "not from a user" } as const
        const payment = admission.payment(answer, message, from.id)
        if (Option.isSome(payment)) return skipped(yield* payment.value)
        // The owner's own business messages, paused business chats and group messages not
        // addressed to the bot are kept as context, not answered.
        const held = yield* business.screen(updateId, message)
        if (Option.isSome(held)) return { _tag: "Skipped", reason: held.value } as const
        // A conversation handed off to a colleague: the messages of the turn go to their topic, not to the model.
        yield* Effect.forEach(yield* FiberRef.get(CurrentMergedParts), (part) => handoff.customer(part.updateId, part.message), { discard: true })
        const handedOff = yield* handoff.customer(updateId, message)
        if (Option.isSome(handedOff)) return skipped(handedOff.value)
        if (Option.isNone(yield* addressing.screen(updateId, message)) && !(yield* earlierAddressed(addressing))) {
          return { _tag: "Skipped", reason: "not addressed" } as const
        }
        const chatId = message.chat.id
        const to = destinationOf(message)
        if (hasMedia(message)) {
          // Refused or over budget, a voice note is not even transcribed.
          const standing = yield* admitted(to, from.id, chatId)
          if (Either.isLeft(standing)) return standing.left
          // Voice, photos and documents become the user's turn (src/media/).
          const mediaTurn = yield* messenger.whileTyping(to, media.turn(updateId, message))
          if (mediaTurn._tag === "Dialog") {
            return yield* working(to, message, turn(updateId, message, from, mediaTurn.text, standing.right, mediaTurn.media))
          }
          if (mediaTurn._tag === "Collected") return { _tag: "Skipped", reason: mediaTurn.reason } as const
          if (mediaTurn._tag === "Reply") {
            yield* answer(to, mediaTurn.text)
            return { _tag: "Replied", reason: "media" } as const
          }
        }
        const text = messageText(message)
        if (Option.isNone(text)) {
          if (!hasMedia(message)) return { _tag: "Skipped", reason: "service message" } as const
          yield* answer(to, (yield* userTexts(profile)).textOnly)
          return { _tag: "Replied", reason: "text-only" } as const
        }
        if (text.value.trim() === "") {
          yield* answer(to, (yield* userTexts(profile)).emptyMessage)
          return { _tag: "Replied", reason: "empty" } as const
        }
        const command = yield* commands.reply(text.value, {
          chatId, userId: from.id, updateId, ...threadField(conversationOf(message)), businessConnectionId: to.businessConnectionId, from
        })
        if (Option.isSome(command)) {
          // An empty reply: the command answered on its own (an ephemeral message in a group).
          if (command.value.text !== "") yield* answer(to, command.value.text)
          return { _tag: "Command", command: command.value.command } as const
        }
        const standing = yield* admitted(to, from.id, chatId)
        if (Either.isLeft(standing)) return standing.left
        return yield* working(to, message, turn(updateId, message, from, text.value, standing.right))
      })
  })
