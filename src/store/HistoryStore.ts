/**
 * Dialog history per conversation (a chat, or one forum topic of it), oldest first. Messages are ordered by their key: by update_id
 * (Telegram's ids grow with time) and within one update the user's message before the reply,
 * so the order never depends on when concurrent appends finished.
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
  /** Deletes a conversation's history; returns how many messages were removed. */
  readonly clear: (conversation: ConversationRef) => Effect.Effect<number, StoreError>
}

export class HistoryStore extends Context.Tag("dialog-bot/HistoryStore")<HistoryStore, HistoryStoreService>() {}

const roleRank = { user: 0, assistant: 1 } as const

/** History order, the order of the key: by update, and within one update the user's message before the reply. */
export const historyOrder = (a: HistoryMessage, b: HistoryMessage): number =>
  a.updateId - b.updateId || roleRank[a.role] - roleRank[b.role]
