/**
 * The durable inbox of updates. An update is recorded before it is acknowledged to Telegram,
 * and stays pending until its dialog is done, so a crash between the two loses nothing: on
 * start the dispatcher re-runs every pending entry.
 */
import { Context, Duration, Effect, type Option } from "effect"
import type { InboxEntry, RecordResult } from "../domain/Dialog.ts"
import { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"

export interface IncomingUpdate {
  readonly updateId: TelegramId
  readonly chatId?: TelegramId | undefined
  /** The update's JSON exactly as it came. */
  readonly payload: string
}

export interface InboxService {
  /** Records an update; `Duplicate` when its update_id was seen before (whatever its status). */
  readonly record: (update: IncomingUpdate) => Effect.Effect<RecordResult, StoreError>
  /** Marks an update done; `note` says why when it was settled without a dialog (e.g. dropped by flood protection). */
  readonly markDone: (updateId: TelegramId, note?: string) => Effect.Effect<void, StoreError>
  readonly markFailed: (updateId: TelegramId, reason: string) => Effect.Effect<void, StoreError>
  /**
   * Records that the first `count` messages sent for an update reached Telegram (written right
   * after each one, before the next send may start: see `Messenger`). No entry, no change.
   */
  readonly markDelivered: (updateId: TelegramId, count: number) => Effect.Effect<void, StoreError>
  /** The entry of an update, whatever its status (none once pruned or never recorded). */
  readonly entry: (updateId: TelegramId) => Effect.Effect<Option.Option<InboxEntry>, StoreError>
  /** Pending entries in update_id order, at most `limit` of them. */
  readonly pending: (limit?: number) => Effect.Effect<ReadonlyArray<InboxEntry>, StoreError>
  /** How many entries are pending. */
  readonly pendingCount: Effect.Effect<number, StoreError>
  /** The largest update_id ever recorded (pollers resume after it). */
  readonly lastUpdateId: Effect.Effect<number | undefined, StoreError>
  /** Deletes done and failed entries finished longer than `retention` ago; returns how many. */
  readonly prune: (retention: Duration.DurationInput) => Effect.Effect<number, StoreError>
}

export class Inbox extends Context.Tag("dialog-bot/Inbox")<Inbox, InboxService>() {}

/** Done entries are kept at least this long so that Telegram's redeliveries are still recognised. */
export const minimumRetention: Duration.Duration = Duration.hours(24)

/** The retention actually applied: never below {@link minimumRetention}. */
export const effectiveRetention = (retention: Duration.DurationInput): Duration.Duration =>
  Duration.max(Duration.decode(retention), minimumRetention)

/** A count of delivered messages as the stores keep it: a whole number from 0 to 2^32 - 1. */
export const deliveredCount = (operation: string, count: number): Effect.Effect<number, StoreError> =>
  Number.isInteger(count) && count >= 0 && count <= 0xffff_ffff
    ? Effect.succeed(count)
    : Effect.fail(new StoreError({ operation, message: `delivered count must be a whole number from 0 to 2^32 - 1, got ${count}` }))
