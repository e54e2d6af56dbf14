/**
 * A merged turn: quick successive text messages of one sender in one conversation, answered as
 * one turn (`MERGE_WINDOW`, see `TurnMerge` in src/runtime/). The turn runs as its last update;
 * the queue sets the earlier ones here for the fiber running it, and the pipeline puts their
 * texts before the last one's and keeps each in the history under its own update.
 */
import { FiberRef } from "effect"
import type { Message, TelegramId } from "./Update.ts"

/** An earlier message of a merged turn: its update (settled when the turn finishes) and the message. */
export interface MergedPart {
  readonly updateId: TelegramId
  readonly message: Message
}

/** The earlier messages of the turn the current fiber runs, oldest first; empty for a turn of one update. */
export const CurrentMergedParts: FiberRef.FiberRef<ReadonlyArray<MergedPart>> = FiberRef.unsafeMake<ReadonlyArray<MergedPart>>([])

/** The note of an update answered as part of a later one's turn (kept in its inbox entry). */
export const mergedNote = (owner: TelegramId): string => `merged into the turn of update ${owner}`
