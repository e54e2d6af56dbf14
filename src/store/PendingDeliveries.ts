/**
 * Delivery records that wait in memory while the store does not take them. A message that
 * reached Telegram is recorded in the inbox (`Inbox.markDelivered`) so that a re-run of its
 * update does not send it again; when the store blinks, the record is kept here and written
 * once the store answers, and meanwhile every read of the entry (a re-run, a redelivery, the
 * cluster's entity) sees the count kept here. Only a crash before the write loses it (a message
 * per chat sent twice, as before the records existed).
 *
 * The writer sleeps on a latch while nothing waits, and wakes when a write did not go
 * through: a timer that fired every second for the life of the process would cost a wake-up
 * per second for nothing, and a test clock moved across months would run it once per second
 * of the gap.
 */
import { Duration, Effect, Option } from "effect"
import type { InboxEntry } from "../domain/Dialog.ts"
import type { TelegramId } from "../domain/Update.ts"
import type { InboxService } from "./Inbox.ts"

/** How often the records kept in memory are written again. */
const flushInterval = Duration.seconds(1)

/** `inbox` whose delivery records survive a store that does not answer; writes them again in the background (scoped). */
export const withPendingDeliveries = (inbox: InboxService) =>
  Effect.gen(function*() {
    /** Counts not yet written, by update. */
    const pending = new Map<TelegramId, number>()
    const remember = (updateId: TelegramId, count: number) => pending.set(updateId, Math.max(count, pending.get(updateId) ?? 0))
    const forget = (updateId: TelegramId, count: number) => {
      if ((pending.get(updateId) ?? 0) <= count) pending.delete(updateId)
    }
    const withPending = (entry: InboxEntry): InboxEntry => {
      const kept = pending.get(entry.updateId)
      return kept === undefined || kept <= entry.delivered ? entry : { ...entry, delivered: kept }
    }

    /** Open while records wait in memory. */
    const waiting = yield* Effect.makeLatch(false)

    const markDelivered = (updateId: TelegramId, count: number) =>
      Effect.suspend(() => {
        remember(updateId, count)
        return inbox.markDelivered(updateId, count).pipe(
          Effect.tap(() => Effect.sync(() => forget(updateId, count))),
          Effect.onExit((exit) => (exit._tag === "Success" ? Effect.void : waiting.open))
        )
      })

    const flush = Effect.suspend(() =>
      Effect.forEach([...pending], ([updateId, count]) =>
        inbox.markDelivered(updateId, count).pipe(
          Effect.tap(() => Effect.sync(() => forget(updateId, count))),
          Effect.ignore
        ), { discard: true })
    )
    const writeAgain = Effect.gen(function*() {
      yield* waiting.await
      yield* Effect.sleep(flushInterval)
      yield* waiting.close
      yield* flush
      if (pending.size > 0) yield* waiting.open
    })
    yield* Effect.forkScoped(Effect.forever(writeAgain))

    return {
      record: (update) => inbox.record(update),
      markDone: (updateId, note) => inbox.markDone(updateId, note),
      markFailed: (updateId, reason) => inbox.markFailed(updateId, reason),
      pendingCount: inbox.pendingCount,
      lastUpdateId: inbox.lastUpdateId,
      prune: (retention) => inbox.prune(retention),
      markDelivered,
      entry: (updateId) => Effect.map(inbox.entry(updateId), Option.map(withPending)),
      pending: (limit?: number) => Effect.map(inbox.pending(limit), (entries) => entries.map(withPending))
    } satisfies InboxService
  })
