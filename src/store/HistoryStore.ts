/**
 * Dialog history per conversation (a chat, or one forum topic of it), oldest first. Messages are ordered by their key: by update_id
 * (Telegram's ids grow with time) and within one update the user's message before the reply,
 * so the order never depends on when concurrent appends finished.
 *
 * Beside the messages, a conversation has at most one running summary of the messages that fell
 * out of the prompt's window (`src/dialog/Compaction.ts`). It says how far it reaches (`upTo`,
 * an update id): a summary is only ever replaced by one that reaches further, so a fold run
 * twice, or by two replicas at once, never goes back.
 */
import { Context, type Effect, type Option } from "effect"
import type { ConversationRef } from "../domain/Conversation.ts"
import type { HistoryMessage } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"

export interface HistoryStoreService {
  /**
   * Appends a message. A message with the same (chat, update, role) as one already stored is
   * ignored, so re-running an update never duplicates history.
   */
  readonly append: (message: HistoryMessage) => Effect.Effect<void, StoreError>
  /**
   * The last `limit` messages of a conversation, oldest first (none when `limit` is below 1).
   * A bare chat id is the chat's main conversation (not its forum topics).
   */
  readonly lastN: (conversation: ConversationRef, limit: number) => Effect.Effect<ReadonlyArray<HistoryMessage>, StoreError>
  /** The bot's reply already stored for an update, if any (used when an update is re-run). */
  readonly replyFor: (chatId: TelegramId, updateId: TelegramId) => Effect.Effect<Option.Option<string>, StoreError>
  /** Deletes a conversation's history and its summary; returns how many messages were removed. */
  readonly clear: (conversation: ConversationRef) => Effect.Effect<number, StoreError>
  /** The conversation's running summary, if it has one. */
  readonly summary: (conversation: ConversationRef) => Effect.Effect<Option.Option<ConversationSummary>, StoreError>
  /**
   * Stores the conversation's summary unless the one stored reaches as far or further (`upTo`);
   * whether it was stored.
   */
  readonly saveSummary: (conversation: ConversationRef, summary: ConversationSummary) => Effect.Effect<boolean, StoreError>
}

/** A conversation's running summary: the messages of its updates up to `upTo` (included), folded into one text. */
export interface ConversationSummary {
  readonly text: string
  /** The newest update whose messages the summary covers. */
  readonly upTo: TelegramId
  /** When it was written (epoch milliseconds). */
  readonly at: number
}

export class HistoryStore extends Context.Tag("dialog-bot/HistoryStore")<HistoryStore, HistoryStoreService>() {}

const roleRank = { user: 0, assistant: 1 } as const

/** History order, the order of the key: by update, and within one update the user's message before the reply. */
export const historyOrder = (a: HistoryMessage, b: HistoryMessage): number =>
  a.updateId - b.updateId || roleRank[a.role] - roleRank[b.role]
