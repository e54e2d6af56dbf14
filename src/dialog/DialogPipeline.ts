/**
 * The dialog pipeline: what the bot does with one update.
 *
 * For a user's text: get or create the client, load the last messages, append the user's,
 * then 1 classify (→ a stage), 2 think (the model with the stage's tools, a bounded tool loop),
 * 3 synthesize (the reply), append the reply and send it. The stages and their fallbacks are
 * in `stages.ts`: a failed classification uses the default stage, a failed think step goes on
 * with the tool results gathered so far, a failed synthesis tries one plain generation, and
 * only then the apology (`Apology.ts`).
 *
 * This file is that turn and the dispatch of an update; the rest lives beside it. What a
 * message becomes before a dialog (commands, media, empty texts, handoff, payments, admission):
 * `MessageRouting.ts`. A guest message and a sent inline result are turns of a conversation of
 * their own, answered where the user called the bot: `CalledUpdates.ts`. The update kinds that
 * are no dialog (callback queries, membership changes, reactions, payments): `NonDialogUpdates.ts`.
 * The Stop button of a streamed answer: `StopRace.ts`.
 */
import { Clock, Context, Effect, Fiber, Layer, Option } from "effect"
import { markdownRenderer } from "../telegram/format/markdown.ts"
import { StreamingReplies } from "../telegram/StreamingReplies.ts"
import { withReplyContext } from "./replyContext.ts"
import { makeStreamingSynthesis } from "./streamingSynthesis.ts"
import { commitAnswer, markReachable, takeFresh } from "../domain/CurrentUpdate.ts"
import { conversationOf, isGroupChat, threadField } from "../domain/Conversation.ts"
import { destinationOf } from "../domain/Destination.ts"
import type { HistoryMessage } from "../domain/Dialog.ts"
import { guestQueryOf } from "../domain/Caller.ts"
import { type Update, updateKind } from "../domain/Update.ts"
import { collectingUsage, turnUsage } from "../llm/TurnUsage.ts"
import { withSpan } from "../observability/span.ts"
import { annotatedText } from "../observability/TraceSettings.ts"
import { BotProfile, stageOrDefault } from "../profile/BotProfile.ts"
import { inLanguageOf, userTexts } from "../profile/UserLanguage.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { ConversationState } from "../store/ConversationState.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { Messenger } from "../telegram/Messenger.ts"
import { turnEntries, UsageLedger } from "../usage/UsageLedger.ts"
import type { ToolContext } from "../tools/Tool.ts"
import { memoryOf } from "../tools/builtin/userMemory.ts"
import { speakerName } from "./Addressing.ts"
import { makeAdmission } from "./Admission.ts"
import { reportAnswered } from "./answeredReport.ts"
import { makeApology } from "./Apology.ts"
import { calledAnswer } from "./CalledTurn.ts"
import { makeCalledUpdates } from "./CalledUpdates.ts"
import { makeChoices } from "./Choices.ts"
import { makeCompaction } from "./Compaction.ts"
import { DialogConfig } from "./DialogConfig.ts"
import { makeFeedback } from "./Feedback.ts"
import { makeGuestTurns } from "./GuestTurns.ts"
import { makeHandoffRouting } from "./HandoffRouting.ts"
import { makeInlineQueries } from "./InlineQueries.ts"
import { turnText } from "./mergedTurnText.ts"
import { makeMessageRouting } from "./MessageRouting.ts"
import { makeNonDialogUpdates } from "./NonDialogUpdates.ts"
import { dialogMessage, type DialogTurn, type Outcome, type PipelineError } from "./Outcome.ts"
import { renderFindings } from "./prompts.ts"
import { makeReactions } from "./Reactions.ts"
import { makeStages } from "./stages.ts"
import { makeStopRace } from "./StopRace.ts"

export { dialogMessage, type Outcome, type PipelineError } from "./Outcome.ts"

export interface DialogPipelineService {
  readonly handle: (update: Update) => Effect.Effect<Outcome, PipelineError>
  /** Sends the apology to the chat of an update that has one (deadline passed, dialog failed). */
  readonly apologize: (update: Update) => Effect.Effect<void>
}

export class DialogPipeline extends Context.Tag("dialog-bot/DialogPipeline")<DialogPipeline, DialogPipelineService>() {}

export const makeDialogPipeline = Effect.gen(function*() {
  const { toEntities: markdownToEntities } = yield* markdownRenderer
  const config = yield* DialogConfig
  const profile = yield* BotProfile
  const clients = yield* ClientStore
  const history = yield* HistoryStore
  const ledger = yield* UsageLedger
  const messenger = yield* Messenger
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
  const stopRace = yield* makeStopRace
  const synthesizeStreamed = (yield* makeStreamingSynthesis)(stages)

  const dialog: DialogTurn = (updateId, message, from, text, standing, userMedia = {}, called) =>
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
      yield* markReachable(client.id)

      // Re-run after a crash: the reply was composed already, send it again instead of asking anew.
      // An update recorded just now, on its first attempt, has none (one store read less).
      const stored = (yield* takeFresh) ? Option.none<string>() : yield* history.replyFor(chatId, updateId)
      if (Option.isSome(stored)) {
        const again = markdownToEntities(stored.value)
        yield* commitAnswer
        if (called === undefined) yield* messenger.reply(to, again)
        else yield* called.deliver(again)
        return { _tag: "Replied", reason: "resent" } satisfies Outcome
      }
      // The user sees their message taken up (`REACT_ON_RECEIPT`), while the turn goes on.
      // The bot reacts and sends only in chats it is in. No reaction, no fiber.
      const receiving = called === undefined ? reactions.received(message) : Option.none()
      const receipt = Option.isSome(receiving) ? Option.some(yield* Effect.forkScoped(receiving.value)) : Option.none()
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

      // The model's calls and the tools, raced against the Stop button of the drafts (StopRace.ts);
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
      const composed = yield* stopRace.race(chatId, live, work)
      // Stopped: nothing more of the turn goes out but, with STOP_KEEPS_PARTIAL, what was shown.
      if (Option.isNone(composed)) return yield* stopRace.stopped(live, texts.stopped, recordReply)
      const { classified, stage, thought, synthesized } = composed.value
      const spent = yield* recordReply(synthesized.answer)
      yield* Effect.zipRight(commitAnswer, live.finish(synthesized.answer))
      // What fell out of the history's window is folded into the summary, off the reply's path (Compaction.ts).
      yield* compaction.afterTurn({ conversation, userId: from.id, updateId }, context)
      // The answer as the user read it (its Markdown rendered) is what feedback is about.
      const read = markdownToEntities(synthesized.answer).text
      yield* feedback.answered({ chatId, updateId, userId: from.id, question: text, answer: read })
      if (called === undefined) {
        if (Option.isSome(receipt)) yield* Fiber.join(receipt.value)
        yield* reactions.answered(message)
        if (Option.isSome(spent.warning)) yield* messenger.reply(to, spent.warning.value)
      }
      const fallback = classified.fallback || thought.fallback || synthesized.fallback
      yield* reportAnswered(stage.id, fallback, classified, thought, synthesized)
      return { _tag: "Answered", stage: stage.id, fallback } satisfies Outcome
    }).pipe(
      Effect.scoped,
      (dialog) => annotatedText("message.text", text, dialog),
      withSpan("dialog.run", { attributes: { update_id: updateId, chat_id: message.chat.id } })
    )

  const onMessage = yield* makeMessageRouting({ handoff, admission, turn: dialog })
  const called = yield* makeCalledUpdates({ guests, inline, admission, turn: dialog })
  const others = yield* makeNonDialogUpdates({ handoff, choices, feedback, admission, inline })

  const handle = (update: Update): Effect.Effect<Outcome, PipelineError> => {
    const kind = updateKind(update)
    const result: Effect.Effect<Outcome, PipelineError> = Option.match(dialogMessage(update), {
      onSome: (message) => onMessage(update.update_id, message),
      onNone: () => {
        // An update holds one kind: a guest message or a sent inline result starts a called turn.
        const guest = guestQueryOf(update)
        if (Option.isSome(guest)) return called.guest(update.update_id, guest.value)
        if (update.chosen_inline_result) return called.chosen(update.update_id, update.chosen_inline_result)
        return others(update, kind)
      }
    })
    // Each update is a turn of its own: the usage of its model calls and transcriptions is collected for the ledger.
    return result.pipe(collectingUsage, inLanguageOf(update), withSpan("dialog.handle", { attributes: { kind } }))
  }

  return DialogPipeline.of({ handle, apologize: yield* makeApology({ guests, inline }) })
})

/** The pipeline; summaries being written when it closes are interrupted (`Compaction.ts`). */
export const DialogPipelineLive = Layer.scoped(DialogPipeline, makeDialogPipeline)
