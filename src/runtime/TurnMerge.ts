/**
 * Quick successive messages answered as one turn (opt-in: `MERGE_WINDOW`, 0 turns it off).
 *
 * People often write one thought as several short messages. When a conversation's first plain
 * text message arrives while nothing of that conversation is queued or running, the chat
 * queue holds it for the window; the plain text messages of the same sender that arrive in the
 * conversation meanwhile join it, and the turn runs as its last update: the model sees every
 * text (joined with newlines, in update order), each is kept in the history under its own
 * update, and one answer goes to the last message's destination (in a group, a reply to it).
 * That last update owns the answer: its inbox entry counts the delivered messages, its reply
 * is the one stored in the history. The earlier ones are marked done with a note naming it
 * (`mergedNote`) when the turn finishes, before it.
 *
 * Only plain text `message` updates from a user are merged: commands, edits, media and albums,
 * callback queries, business messages and updates dropped by flood protection are not, nor is
 * anything that arrives once the turn has started: those queue and run as usual. At most
 * `maxMergedParts` messages make one turn.
 *
 * After a crash the pending updates are queued again and merged again. A merged update whose
 * reply the history already holds answered a turn before the crash: it closes the turn, whose
 * reply is then sent again only as far as it was not delivered, and the updates after it run on
 * their own. So every update is answered once, none twice, none lost.
 */
import { Duration, Effect, Metric, Option } from "effect"
import type { MergedPart } from "../domain/MergedTurn.ts"
import type { Message, Update } from "../domain/Update.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { DispatcherConfig } from "./DispatcherConfig.ts"
import { countedStoreRetry, type UpdateJob } from "./UpdateRunner.ts"
import { retryLazily } from "../effect/retryLazily.ts"

/** Updates answered in the turn of a later update of their conversation. */
export const updatesMerged = Metric.counter("bot_updates_merged_total", {
  description: "Quick successive messages answered in the turn of a later message (MERGE_WINDOW)",
  incremental: true
})

/** The most messages one merged turn takes; the next ones start a turn of their own. */
export const maxMergedParts = 10

/** The message of an update that may be merged: a user's plain text message, not a command; none otherwise. */
export const mergeableMessage = (update: Update): Option.Option<Message> => {
  const message = update.message
  if (message === undefined || message.from === undefined || message.from.is_bot) return Option.none()
  const text = message.text
  if (text === undefined || text.trim() === "" || text.startsWith("/")) return Option.none()
  return Option.some(message)
}

/** One turn of a conversation's queued jobs: the job to run and how many of the queued jobs it settles. */
export interface MergedTurn {
  readonly job: UpdateJob
  readonly count: number
}

export interface TurnMerge {
  /** How long a conversation's first message waits for more; none when merging is off. */
  readonly window: Option.Option<Duration.Duration>
  /** Whether `job`, arriving while its conversation is idle, opens a window. */
  readonly opens: (job: UpdateJob) => boolean
  /**
   * The turn of a conversation's queued jobs: `head` opened a window that closed at `closesAt`
   * (epoch millis); of the jobs queued after it (`following`, in order), those that arrived by
   * then may join it.
   */
  readonly gather: (head: UpdateJob, following: ReadonlyArray<UpdateJob>, closesAt: number) => Effect.Effect<MergedTurn>
}

/** A job that may be part of a turn, with its message. */
interface Part {
  readonly job: UpdateJob
  readonly message: Message
}

/** Merged turns under the dispatcher's `MERGE_WINDOW`, over the history (when present) for re-runs after a crash. */
export const makeTurnMerge = Effect.gen(function*() {
  const config = yield* DispatcherConfig
  const history = yield* Effect.serviceOption(HistoryStore)
  const window = Duration.toMillis(config.mergeWindow) > 0 ? Option.some(config.mergeWindow) : Option.none()

  const opens = (job: UpdateJob) => Option.isSome(window) && !job.flooded && Option.isSome(mergeableMessage(job.update))

  /** The jobs of `head`'s sender that follow it in the window, while they may be merged. */
  const joining = (first: Part, following: ReadonlyArray<UpdateJob>, closesAt: number) => {
    const parts: Array<Part> = [first]
    for (const job of following) {
      const message = mergeableMessage(job.update)
      if (Option.isNone(message) || job.flooded || job.queuedAt > closesAt || parts.length >= maxMergedParts) break
      if (message.value.from?.id !== first.message.from?.id) break
      parts.push({ job, message: message.value })
    }
    return parts
  }

  /** How many of `parts` the turn takes: up to the first one whose reply is stored (it answered them before a crash). */
  const answeredUpTo = (parts: ReadonlyArray<Part>) =>
    Option.match(history, {
      onNone: () => Effect.succeed(parts.length),
      onSome: (store) =>
        Effect.gen(function*() {
          for (const [i, part] of parts.slice(0, -1).entries()) {
            const reply = yield* store.replyFor(part.message.chat.id, part.job.updateId)
            if (Option.isSome(reply)) return i + 1
          }
          return parts.length
        }).pipe(retryLazily(countedStoreRetry("merge_read")))
    })

  /** The turn of `taken` (at least one part): run as its last job, the others merged into it. */
  const turnOf = (first: Part, taken: ReadonlyArray<Part>): MergedTurn => {
    const owner = taken[taken.length - 1] ?? first
    const merged: ReadonlyArray<MergedPart> = taken.slice(0, -1).map((p) => ({ updateId: p.job.updateId, message: p.message }))
    return { job: merged.length === 0 ? owner.job : { ...owner.job, merged }, count: Math.max(1, taken.length) }
  }

  const gather = (head: UpdateJob, following: ReadonlyArray<UpdateJob>, closesAt: number): Effect.Effect<MergedTurn> => {
    const alone: MergedTurn = { job: head, count: 1 }
    const message = mergeableMessage(head.update)
    if (Option.isNone(message)) return Effect.succeed(alone)
    const first: Part = { job: head, message: message.value }
    const parts = joining(first, following, closesAt)
    if (parts.length <= 1) return Effect.succeed(alone)
    return answeredUpTo(parts).pipe(
      Effect.map((count) => turnOf(first, parts.slice(0, count))),
      Effect.tap((turn) => Metric.incrementBy(updatesMerged, turn.count - 1)),
      Effect.catchAll((e) => Effect.as(Effect.logWarning(`quick messages not merged, the history was not read: ${e.message}`), alone))
    )
  }

  return { window, opens, gather } satisfies TurnMerge
})
