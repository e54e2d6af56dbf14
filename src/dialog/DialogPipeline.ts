/**
 * The dialog pipeline: what the bot does with one update.
 *
 * For a user's text: get or create the client, load the last messages, append the user's,
 * then 1 classify (→ a stage), 2 think (the model with the stage's tools, a bounded tool loop),
 * 3 synthesize (the reply), append the reply and send it. The stages and their fallbacks are
 * in `stages.ts`: a failed classification uses the default stage, a failed think step goes on
 * with the tool results gathered so far, a failed synthesis tries one plain generation, and
 * only then the apology.
 *
 * Commands (those of the `Commands` registry: /start, /help, /clear and a team's own), media
 * without text, empty texts and the non-dialog update kinds (callback queries, membership
 * changes) are answered without the model. Voice notes, photos and documents first become the
 * user's turn (`MediaTurn`, src/media/): a transcript, image parts, a document's text. A guest
 * message and a sent inline result are turns of a conversation of their own, answered where the
 * user called the bot (`CalledTurn.ts`).
 */
import { Clock, Context, Effect, Either, Fiber, FiberRef, Layer, Metric, Option } from "effect"
import { markdownRenderer } from "../telegram/format/markdown.ts"
import { StreamingReplies } from "../telegram/StreamingReplies.ts"
import { RunningTurns } from "./RunningTurns.ts"
import { withReplyContext } from "./replyContext.ts"
import { makeStreamingSynthesis } from "./streamingSynthesis.ts"
import { commitAnswer } from "../domain/CurrentUpdate.ts"
import { conversationOf, isGroupChat, threadField } from "../domain/Conversation.ts"
import { type Destination, destinationOf, type To } from "../domain/Destination.ts"
import type { HistoryMessage } from "../domain/Dialog.ts"
import { CurrentMergedParts } from "../domain/MergedTurn.ts"
import type { StoreError } from "../domain/errors.ts"
import type { DependencyDown } from "../effect/Breaker.ts"
import {
  type ChatMemberUpdated,
  type ChosenInlineResult,
  hasMedia,
  type Message,
  messageText,
  type TelegramId,
  type Update,
  updateKind,
  type User
} from "../domain/Update.ts"
import type { UserMedia } from "../llm/LanguageModel.ts"
import { collectingUsage, turnUsage } from "../llm/TurnUsage.ts"
import { MediaTurn } from "../media/MediaTurn.ts"
import { dialogsAnswered, withTags } from "../observability/Metrics.ts"
import { annotateSpan, withSpan } from "../observability/span.ts"
import { annotateText } from "../observability/TraceSettings.ts"
import { BotProfile, stageOrDefault } from "../profile/BotProfile.ts"
import { inLanguageOf, textsIn, updateLanguage, userTexts } from "../profile/UserLanguage.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { ConversationState } from "../store/ConversationState.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { Messenger, type SendError } from "../telegram/Messenger.ts"
import type { Standing } from "../usage/Budget.ts"
import { turnEntries, UsageLedger } from "../usage/UsageLedger.ts"
import { makeAdmission } from "./Admission.ts"
import { makeReactions } from "./Reactions.ts"
import { makeFeedback } from "./Feedback.ts"
import { guestConversation, guestQueryOf } from "../domain/Caller.ts"
import { plain } from "../telegram/format/FormattedText.ts"
import { calledAnswer, type CalledSite } from "./CalledTurn.ts"
import { makeGuestTurns } from "./GuestTurns.ts"
import { makeInlineQueries } from "./InlineQueries.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import type { ToolContext } from "../tools/Tool.ts"
import { Addressing, speakerName } from "./Addressing.ts"
import { Business } from "./Business.ts"
import { makeChoices } from "./Choices.ts"
import { memoryOf } from "../tools/builtin/userMemory.ts"
import { Commands } from "./Commands.ts"
import { DialogConfig } from "./DialogConfig.ts"
import { makeHandoffRouting } from "./HandoffRouting.ts"
import { earlierAddressed, turnText } from "./mergedTurnText.ts"
import { renderFindings } from "./prompts.ts"
import { makeCompaction } from "./Compaction.ts"
import { addUsage, makeStages } from "./stages.ts"

/** What happened to an update. */
export type Outcome =
  | { readonly _tag: "Answered"; readonly stage: string; readonly fallback: boolean }
  | { readonly _tag: "Command"; readonly command: string }
  | { readonly _tag: "Replied"; readonly reason: "text-only" | "empty" | "resent" | "media" | "over-budget" | "banned" | "not-allowed" }
  | { readonly _tag: "Skipped"; readonly reason: string }
  | { readonly _tag: "Membership"; readonly blocked: boolean }
  /** The user pressed the Stop button of the answer's draft; `kept`: the part shown was sent. */
  | { readonly _tag: "Stopped"; readonly kept: boolean }

/** `DependencyDown`: a dependency stayed down past the turn's patience (`effect/Breaker.ts`). */
export type PipelineError = StoreError | SendError | DependencyDown

export interface DialogPipelineService {
  readonly handle: (update: Update) => Effect.Effect<Outcome, PipelineError>
  /** Sends the apology to the chat of an update that has one (deadline passed, dialog failed). */
  readonly apologize: (update: Update) => Effect.Effect<void>
}

export class DialogPipeline extends Context.Tag("dialog-bot/DialogPipeline")<DialogPipeline, DialogPipelineService>() {}

/** The message of an update that may start a dialog. */
export const dialogMessage = (update: Update): Option.Option<Message> =>
  Option.fromNullable(update.message ?? update.edited_message ?? update.business_message ?? update.edited_business_message)

const skipped = (reason: string): Outcome => ({ _tag: "Skipped", reason })

export const makeDialogPipeline = Effect.gen(function*() {
  const { toEntities: markdownToEntities } = yield* markdownRenderer
  const config = yield* DialogConfig
  const profile = yield* BotProfile
  const commands = yield* Commands
  const clients = yield* ClientStore
  const history = yield* HistoryStore
  const ledger = yield* UsageLedger
  const messenger = yield* Messenger
  const api = yield* TelegramApi
  const media = yield* MediaTurn
  const addressing = yield* Addressing
  const business = yield* Business
  const handoff = yield* makeHandoffRouting
  const stages = yield* makeStages
  const admission = yield* makeAdmission
  const reactions = yield* makeReactions
  const feedback = yield* makeFeedback
  const choices = yield* makeChoices
  const guests = yield* makeGuestTurns
  const inline = yield* makeInlineQueries
  const compaction = yield* makeCompaction
  // Remembered facts go into the prompt where a stage lets the model keep them; other profiles skip the read.
  const keepsMemory = profile.stages.some((stage) => stage.tools.some((tool) => tool === "remember" || tool === "forget"))
  const conversationState = yield* ConversationState
  const { classify, think } = stages
  const replies = yield* StreamingReplies
  const turns = yield* RunningTurns
  const synthesizeStreamed = (yield* makeStreamingSynthesis)(stages)
  /** Sends the update's answer; once it starts, the update's deadline lets it finish. */
  const answer = (to: To, text: string) => Effect.zipRight(commitAnswer, messenger.reply(to, text))
  /** A dialog shown at work: `typing` while it runs, unless its answer streams into drafts (they show it). */
  const working = <A, E, R>(to: Destination, message: Message, effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(replies.showsDrafts(to, message.chat.type), (drafts) => (drafts ? effect : messenger.whileTyping(to, effect)))

  const dialog = (
    updateId: TelegramId,
    message: Message,
    from: NonNullable<Message["from"]>,
    text: string,
    standing: Option.Option<Standing>,
    userMedia: UserMedia = {},
    /** A turn started from another chat (guest, inline): its conversation and where its answer goes. */
    called?: CalledSite
  ) =>
    Effect.gen(function*() {
      const conversation = called?.conversation ?? conversationOf(message)
      const chatId = conversation.chatId
      const to = destinationOf(message)
      // In a group the model is told who says what: the history and the question name the speaker.
      const speaker = isGroupChat(message.chat) ? speakerName(from) : undefined
      // Quick successive messages merged into this turn come first (`mergedTurnText.ts`).
      const turn = yield* turnText(updateId, text)
      const said = speaker === undefined ? turn.text : `${speaker}: ${turn.text}`
      const known = yield* clients.getOrCreate({
        id: from.id,
        firstName: from.first_name,
        lastName: from.last_name,
        username: from.username,
        languageCode: from.language_code
      })
      // The language of the user's app now (the stored one is from their first message).
      const client = from.language_code === undefined ? known : { ...known, languageCode: from.language_code }
      // A user who writes to the bot can receive its messages again.
      if (client.blocked) yield* clients.setBlocked(client.id, false)

      // Re-run after a crash: the reply was composed already, send it again instead of asking anew.
      const stored = yield* history.replyFor(chatId, updateId)
      if (Option.isSome(stored)) {
        const again = markdownToEntities(stored.value)
        yield* Effect.zipRight(commitAnswer, called === undefined ? messenger.reply(to, again) : called.deliver(again))
        return { _tag: "Replied", reason: "resent" } satisfies Outcome
      }
      // The user sees their message taken up (`REACT_ON_RECEIPT`), while the turn goes on.
      // The bot reacts and sends only in chats it is in.
      const receipt = yield* Effect.forkScoped(called === undefined ? reactions.received(message) : Effect.void)
      // Drafts (or a group's edited message) show the answer as it is written; only the final send counts.
      const live = called === undefined ? yield* replies.open(to, message.chat.type) : calledAnswer(called, markdownToEntities)
      const texts = yield* userTexts(profile)
      // What the message replies to or quotes, marked as quoted, reaches the model with it.
      const prompt = withReplyContext(message, said)

      const past = (yield* history.lastN(conversation, config.historyLimit + turn.updateIds.size)).filter((m) => !turn.updateIds.has(m.updateId))
      const context = yield* compaction.context(conversation, past)
      const at = yield* Clock.currentTimeMillis
      const userMessage: HistoryMessage = {
        chatId, ...threadField(conversation), updateId, role: "user", text, at, ...(speaker === undefined ? {} : { speaker })
      }
      for (const earlier of turn.earlier) yield* history.append({ ...userMessage, updateId: earlier.updateId, text: earlier.text })
      yield* history.append(userMessage)

      /** The turn's usage written with its reply, just before it (UsageLedger.ts); what the user has spent. */
      const recordReply = (reply: string) =>
        Effect.gen(function*() {
          const answeredAt = yield* Clock.currentTimeMillis
          const calls = yield* turnUsage
          const spent = admission.afterTurn(
            standing,
            calls.reduce((n, call) => n + call.usage.promptTokens + call.usage.completionTokens, 0),
            texts
          )
          const entries = turnEntries({ userId: from.id, chatId, ...threadField(conversation), updateId, at: answeredAt }, calls, spent.paid)
          yield* ledger.recordTurn(
            entries,
            history.append({ chatId, ...threadField(conversation), updateId, role: "assistant", text: reply, at: answeredAt })
          )
          return spent
        })
      // The model and persona the user chose apply from the turn after the choice.
      const asker = {
        client,
        choice: yield* choices.of(from.id),
        memory: keepsMemory ? yield* Effect.provideService(memoryOf(from.id), ConversationState, conversationState) : []
      }

      // The model's calls and the tools, raced against the Stop button of the drafts (RunningTurns.ts);
      // without drafts there is no button, and no race.
      const work = Effect.gen(function*() {
        const classified = yield* classify(context.messages, prompt)
        const stage = stageOrDefault(profile, classified.stage)
        const toolContext: ToolContext = {
          chatId, userId: from.id, updateId, ...threadField(conversation), businessConnectionId: to.businessConnectionId, stage: stage.id
        }
        const thought = yield* think(stage, asker, context.messages, prompt, toolContext, userMedia, (tools) =>
          live.working(tools.map((tool) => texts.toolsWorking[tool] ?? tool).join(", ")))
        const findings = renderFindings(thought.notes, thought.results)
        const synthesized = yield* synthesizeStreamed(live, stage, asker, context.messages, prompt, findings, userMedia)
        return Option.some({ classified, stage, thought, synthesized })
      })
      const composed = yield* (live.draftId === undefined
        ? work
        : Effect.raceFirst(work, Effect.as(yield* turns.enter(chatId, live.draftId), Option.none())))
      if (Option.isNone(composed)) {
        // Stopped: nothing more of the turn goes out but, with STOP_KEEPS_PARTIAL, what was
        // shown, marked as stopped. The history keeps what the user saw, marked the same way.
        const stop = yield* live.stop
        const shown = stop.shown.trimEnd()
        const marked = shown === "" ? texts.stopped : `${shown}\n\n${texts.stopped}`
        yield* recordReply(marked)
        const kept = stop.keep && shown !== ""
        if (kept) yield* Effect.zipRight(commitAnswer, live.finish(marked))
        yield* Effect.logInfo("dialog stopped by the user").pipe(Effect.annotateLogs({ kept }))
        return { _tag: "Stopped", kept } satisfies Outcome
      }
      const { classified, stage, thought, synthesized } = composed.value
      const spent = yield* recordReply(synthesized.answer)
      yield* Effect.zipRight(commitAnswer, live.finish(synthesized.answer))
      // What fell out of the history's window is folded into the summary, off the reply's path (Compaction.ts).
      yield* compaction.afterTurn({ conversation, userId: from.id, updateId }, context)
      // The answer as the user read it (its Markdown rendered) is what feedback is about.
      const read = markdownToEntities(synthesized.answer).text
      yield* feedback.answered({ chatId, updateId, userId: from.id, question: text, answer: read })
      if (called === undefined) {
        yield* Effect.zipRight(Fiber.join(receipt), reactions.answered(message))
        if (Option.isSome(spent.warning)) yield* messenger.reply(to, spent.warning.value)
      }
      const usage = addUsage(addUsage(classified.usage, thought.usage), synthesized.usage)
      const fallback = classified.fallback || thought.fallback || synthesized.fallback
      const stageUsage = {
        classify_prompt_tokens: classified.usage.promptTokens,
        classify_completion_tokens: classified.usage.completionTokens,
        think_prompt_tokens: thought.usage.promptTokens,
        think_completion_tokens: thought.usage.completionTokens,
        synthesize_prompt_tokens: synthesized.usage.promptTokens,
        synthesize_completion_tokens: synthesized.usage.completionTokens
      }
      yield* Metric.increment(withTags(dialogsAnswered, { dialog_stage: stage.id, fallback: String(fallback) }))
      yield* Effect.logInfo("dialog answered").pipe(
        Effect.annotateLogs({
          stage: stage.id,
          tools: thought.results.map((r) => `${r.name}:${r.ok ? "ok" : "error"}`).join(",") || "none",
          prompt_tokens: usage.promptTokens,
          completion_tokens: usage.completionTokens,
          ...stageUsage,
          fallback
        })
      )
      yield* annotateSpan({
        stage: stage.id,
        prompt_tokens: usage.promptTokens,
        completion_tokens: usage.completionTokens,
        ...stageUsage
      })
      return { _tag: "Answered", stage: stage.id, fallback } satisfies Outcome
    }).pipe(
      Effect.scoped,
      Effect.tap(() => annotateText("message.text", text)),
      withSpan("dialog.run", { attributes: { update_id: updateId, chat_id: message.chat.id } })
    )

  /** The user's standing before a dialog, or the outcome of the notice sent instead (`Admission.ts`). */
  const admitted = (to: To, userId: TelegramId, chatId: TelegramId): Effect.Effect<Either.Either<Option.Option<Standing>, Outcome>, PipelineError> =>
    Effect.map(admission.admitted(answer, to, userId, chatId), Either.mapLeft((reason): Outcome => ({ _tag: "Replied", reason })))

  const onMessage = (updateId: TelegramId, message: Message): Effect.Effect<Outcome, PipelineError> =>
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
        const turn = yield* messenger.whileTyping(to, media.turn(updateId, message))
        if (turn._tag === "Dialog") {
          return yield* working(to, message, dialog(updateId, message, from, turn.text, standing.right, turn.media))
        }
        if (turn._tag === "Collected") return { _tag: "Skipped", reason: turn.reason } as const
        if (turn._tag === "Reply") {
          yield* answer(to, turn.text)
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
      return yield* working(to, message, dialog(updateId, message, from, text.value, standing.right))
    })

  /**
   * A turn started from another chat (a guest message, a sent inline result): its notices and
   * its answer go where the user sees them (`CalledTurn.ts`); budgets and bans are the caller's.
   */
  const onCalled = (updateId: TelegramId, message: Message, from: User, text: Option.Option<string>, site: CalledSite) =>
    Effect.gen(function*() {
      if (from.is_bot) return skipped("not from a user")
      const notice = (notice: string) => Effect.zipRight(commitAnswer, site.deliver(plain(notice)))
      const texts = yield* userTexts(profile)
      if (Option.isNone(text)) return yield* Effect.as(notice(texts.textOnly), { _tag: "Replied", reason: "text-only" } as const)
      if (text.value.trim() === "") return yield* Effect.as(notice(texts.emptyMessage), { _tag: "Replied", reason: "empty" } as const)
      const standing = yield* admission.admitted((_, refusal) => notice(refusal), from.id, from.id, from.id)
      if (Either.isLeft(standing)) return { _tag: "Replied", reason: standing.left } as const
      return yield* dialog(updateId, message, from, text.value, standing.right, {}, site)
    })

  const onGuest = (updateId: TelegramId, guest: { readonly message: Message; readonly queryId: string; readonly caller: User }) =>
    Effect.scoped(Effect.flatMap(
      guests.site(guest.queryId, guestConversation(guest.message, guest.caller)),
      (site) => onCalled(updateId, guest.message, guest.caller, messageText(guest.message), site)
    ))

  const onChosen = (updateId: TelegramId, result: ChosenInlineResult): Effect.Effect<Outcome, PipelineError> =>
    Option.match(inline.chosen(result), {
      onNone: () => Effect.succeed(skipped("chosen_inline_result without an inline message to edit")),
      onSome: ({ message, site }) => onCalled(updateId, message, result.from, Option.some(result.query), site)
    })

  const onMembership = (change: ChatMemberUpdated): Effect.Effect<Outcome, PipelineError> => {
    const status = change.new_chat_member.status
    const blocked = status === "kicked" || status === "left"
    // Only a private chat's membership says whether the user blocked the bot.
    if (change.chat.type !== "private") return Effect.succeed({ _tag: "Skipped", reason: `membership in ${change.chat.type}` })
    return Effect.as(clients.setBlocked(change.from.id, blocked), { _tag: "Membership", blocked })
  }

  const handle = (update: Update): Effect.Effect<Outcome, PipelineError> => {
    const kind = updateKind(update)
    const result: Effect.Effect<Outcome, PipelineError> = Option.match(dialogMessage(update), {
      onSome: (message) => onMessage(update.update_id, message),
      onNone: () => {
        if (update.callback_query) {
          const query = update.callback_query
          // The handoff's "Back to bot" button, a button of /model or /persona; other buttons
          // are not part of the dialog: stop the client's spinner and move on.
          const routed = Effect.flatMap(
            handoff.callback(query),
            (reason) => (Option.isSome(reason) ? Effect.succeed(reason) : choices.callback(query))
          )
          return Effect.flatMap(routed, Option.match({
            onSome: (reason) => Effect.succeed(skipped(reason)),
            onNone: () =>
              api.answerCallbackQuery(query.id).pipe(
                Effect.catchAll((e) => Effect.logWarning(`answerCallbackQuery failed: ${e.message}`)),
                Effect.as({ _tag: "Skipped", reason: "callback_query answered" } as const)
              )
          }))
        }
        if (update.my_chat_member) return onMembership(update.my_chat_member)
        const guest = guestQueryOf(update)
        if (Option.isSome(guest)) return onGuest(update.update_id, guest.value)
        if (update.inline_query) return Effect.map(inline.answer(update.update_id, update.inline_query), skipped)
        if (update.chosen_inline_result) return onChosen(update.update_id, update.chosen_inline_result)
        if (update.message_reaction) return Effect.map(feedback.reacted(update.message_reaction), skipped)
        if (update.pre_checkout_query) return Effect.map(admission.preCheckout(update.pre_checkout_query), skipped)
        if (update.subscription) return Effect.map(admission.subscription(update.subscription), skipped)
        if (update.business_connection) return Effect.map(business.connection(update.business_connection), skipped)
        if (update.deleted_business_messages) return Effect.map(business.deleted(update.deleted_business_messages), skipped)
        return Effect.as(Effect.logDebug(`skipped update of kind ${kind}`), { _tag: "Skipped", reason: kind } as const)
      }
    })
    // Each update is a turn of its own: the usage of its model calls and transcriptions is collected for the ledger.
    return result.pipe(collectingUsage, inLanguageOf(update), withSpan("dialog.handle", { attributes: { kind } }))
  }

  /** The apology in the update's chat, or where a called turn is answered (a guest query not answered yet, a sent inline result). */
  const apologize = (update: Update) => {
    const apology = textsIn(profile, updateLanguage(update)).apology
    const chosen = Option.flatMap(Option.fromNullable(update.chosen_inline_result), inline.chosen)
    const send: Option.Option<Effect.Effect<void, SendError>> = Option.firstSomeOf([
      Option.map(guestQueryOf(update), (guest) => Effect.asVoid(guests.answer(guest.queryId, plain(apology)))),
      Option.map(chosen, ({ site }) => site.deliver(plain(apology))),
      Option.map(dialogMessage(update), (message) => Effect.asVoid(messenger.reply(destinationOf(message), apology)))
    ])
    return Option.match(send, {
      onNone: () => Effect.void,
      onSome: (sending) =>
        sending.pipe(
          Effect.timeout("10 seconds"),
          Effect.catchAll((e) => Effect.logWarning(`apology not sent: ${e._tag}`))
        )
    })
  }

  return DialogPipeline.of({ handle, apologize })
})

/** The pipeline; summaries being written when it closes are interrupted (`Compaction.ts`). */
export const DialogPipelineLive = Layer.scoped(DialogPipeline, makeDialogPipeline)
