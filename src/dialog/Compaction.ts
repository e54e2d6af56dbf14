/**
 * History compaction: the messages that fall out of the prompt's window (the last
 * `HISTORY_LIMIT` messages within `HISTORY_CHAR_BUDGET` characters) are folded into a running
 * summary per conversation, kept in the store (`HistoryStore.summary`) and given to the model
 * ahead of the recent messages, so a long conversation is not forgotten past its last dozen
 * messages.
 *
 * A fold is one model call (purpose `summary`, `SUMMARY_MODEL` or the main model) with the
 * summary so far and the older half of the window as input, once the window is full: a long
 * conversation costs one summary call every `HISTORY_LIMIT / 4` turns (every third with 12), and
 * no message leaves the prompt before the summary has it. It runs after the answer was
 * sent, in a fiber of this process's scope: it never delays a reply, and shutdown interrupts it
 * (the request is aborted). One fold at a time per conversation; a fold that fails is one log
 * line, and the next turn folds again from where the stored summary reaches (`upTo`). Its tokens
 * go to the usage ledger as a step of their own (`summary`), on the turn that started it.
 */
import { Cause, Clock, Duration, Effect, FiberSet, Option } from "effect"
import { type Conversation, conversationKey, threadField } from "../domain/Conversation.ts"
import type { HistoryMessage } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"
import { type ChatMessage, LanguageModel, LanguageModelError } from "../llm/LanguageModel.ts"
import { withSpan } from "../observability/span.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { turnEntries, UsageLedger } from "../usage/UsageLedger.ts"
import { CompactionConfig } from "./CompactionConfig.ts"
import { DialogConfig } from "./DialogConfig.ts"
import { historyMessages, summaryContext, summaryMessages, trimHistory } from "./prompts.ts"

/** The turn after which a fold may run: its conversation, and whom its tokens are counted for. */
export interface FoldingTurn {
  readonly conversation: Conversation
  readonly userId: TelegramId
  readonly updateId: TelegramId
}

/** A turn's history for the prompt, and whether a fold is due after the turn. */
export interface TurnContext {
  readonly messages: ReadonlyArray<ChatMessage>
  /**
   * The window is full or messages fell out of it unsummarised. Folds take the older half of
   * the window at once, so a long conversation costs one summary call every `HISTORY_LIMIT / 4`
   * turns (every third with 12), and nothing leaves the prompt before it is in the summary.
   */
  readonly foldDue: boolean
}

export interface CompactionService {
  /**
   * The history a turn's prompt gets from `past` (the conversation's last messages, the turn's
   * own left out): the messages of the window, opened by the running summary when there is one;
   * messages the summary covers are not repeated.
   */
  readonly context: (conversation: Conversation, past: ReadonlyArray<HistoryMessage>) => Effect.Effect<TurnContext, StoreError>
  /**
   * When the turn's context says a fold is due, starts folding the window's older half (and
   * what fell out of it) into the summary, in the background; returns at once.
   */
  readonly afterTurn: (turn: FoldingTurn, context: TurnContext) => Effect.Effect<void>
}

/**
 * Messages one fold takes at most (20 turns): a conversation that grew while folds failed
 * catches up with its newest messages in one bounded request; older ones are left out.
 */
export const foldBatch = 40

/** How long a fold may take: the model's own timeout and retries (30 s and 2 by default) fit in it. */
export const foldDeadline = Duration.minutes(2)

/** What went wrong, in one line. */
const reason = (cause: Cause.Cause<unknown>): string => {
  const error = Cause.squash(cause)
  return error instanceof Error ? error.message : String(error)
}

/**
 * The compaction of the bot's history store and model, with `CompactionConfig` when the context
 * has it (else from the environment); its folds run in the scope that builds it.
 */
export const makeCompaction = Effect.gen(function*() {
  const config = yield* DialogConfig
  const settings = yield* Option.match(yield* Effect.serviceOption(CompactionConfig), {
    onSome: Effect.succeed,
    onNone: () => CompactionConfig.config
  })
  const history = yield* HistoryStore
  const ledger = yield* UsageLedger
  const model = yield* LanguageModel
  const folds = yield* FiberSet.make<void, never>()
  /** Conversations with a fold running, by key. */
  const folding = new Set<string>()
  const windowOf = (messages: ReadonlyArray<HistoryMessage>) =>
    trimHistory(messages.slice(-config.historyLimit), config.historyCharBudget)

  const context = (conversation: Conversation, past: ReadonlyArray<HistoryMessage>): Effect.Effect<TurnContext, StoreError> =>
    Effect.gen(function*() {
      const window = windowOf(past)
      // Nothing ever fell out of a conversation whose whole history is in the window: no summary to read.
      const whole = past.length < config.historyLimit && window.length === past.length
      if (!settings.enabled) return { messages: historyMessages(window), foldDue: false }
      // The turn adds two messages (the user's and the reply).
      if (whole) return { messages: historyMessages(window), foldDue: past.length + 2 >= config.historyLimit }
      const summary = yield* history.summary(conversation)
      const reached = Option.match(summary, { onNone: () => -Infinity, onSome: (s) => s.upTo })
      const uncovered = window.filter((m) => m.updateId > reached)
      const fellOut = past.filter((m) => m.updateId > reached).length > uncovered.length
      return {
        messages: Option.match(summary, {
          onNone: () => historyMessages(window),
          onSome: (s) => [summaryContext(s.text), ...historyMessages(uncovered)]
        }),
        foldDue: fellOut || uncovered.length + 2 >= config.historyLimit
      }
    })

  const fold = ({ conversation, updateId, userId }: FoldingTurn) =>
    Effect.gen(function*() {
      const previous = yield* history.summary(conversation)
      const recent = yield* history.lastN(conversation, config.historyLimit + foldBatch)
      const reached = Option.match(previous, { onNone: () => -Infinity, onSome: (summary) => summary.upTo })
      const unfolded = recent.filter((m) => m.updateId > reached)
      // The newest half of the window stays as it is; the rest is folded, whole updates only (an
      // update whose reply stays is folded with it next time).
      const keep = Math.min(windowOf(unfolded).length, Math.max(1, Math.floor(config.historyLimit / 2)))
      const keptFrom = unfolded[unfolded.length - keep]?.updateId ?? Infinity
      const fallen = unfolded.filter((m) => m.updateId < keptFrom)
      const last = fallen.at(-1)
      if (last === undefined) return
      const response = yield* model.complete({
        purpose: "summary",
        messages: summaryMessages(Option.map(previous, (summary) => summary.text), fallen),
        ...Option.match(settings.summaryModel, { onNone: () => ({}), onSome: (summaryModel) => ({ model: summaryModel }) })
      })
      const at = yield* Clock.currentTimeMillis
      // Spent whatever becomes of the summary.
      const entries = turnEntries(
        { userId, chatId: conversation.chatId, ...threadField(conversation), updateId, at },
        [{ stage: "summary", model: response.model, usage: response.usage }],
        0
      )
      yield* ledger.recordTurn(entries, Effect.void)
      const text = response.text?.trim() ?? ""
      if (text === "") return yield* new LanguageModelError({ purpose: "summary", message: "the model wrote no summary" })
      // A /clear while the model wrote: the folded messages are gone, and so is the summary of them.
      const still = yield* history.lastN(conversation, config.historyLimit + foldBatch)
      if (!still.some((m) => m.updateId === last.updateId)) return
      yield* history.saveSummary(conversation, { text, upTo: last.updateId, at })
      yield* Effect.logDebug("conversation summary updated").pipe(Effect.annotateLogs({ folded: fallen.length, up_to: last.updateId }))
    }).pipe(
      Effect.timeoutFail({
        duration: foldDeadline,
        onTimeout: () => new LanguageModelError({ purpose: "summary", message: `no summary within ${Duration.format(foldDeadline)}` })
      }),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Effect.logWarning(`conversation summary failed, folded again after the next turn: ${reason(cause)}`)
      ),
      Effect.annotateLogs({ chat_id: conversation.chatId }),
      withSpan("dialog.summary", { attributes: { chat_id: conversation.chatId, update_id: updateId } })
    )

  const afterTurn = (turn: FoldingTurn, context: TurnContext): Effect.Effect<void> =>
    Effect.suspend(() => {
      const key = conversationKey(turn.conversation)
      if (!settings.enabled || !context.foldDue || folding.has(key)) return Effect.void
      folding.add(key)
      return FiberSet.run(folds, Effect.ensuring(fold(turn), Effect.sync(() => folding.delete(key))))
    }).pipe(Effect.asVoid)

  return { context, afterTurn } satisfies CompactionService
})
