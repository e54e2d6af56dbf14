/**
 * Per-chat ordered execution: jobs of one key (a chat) run strictly in order, keys run in
 * parallel under a global limit. The dispatcher submits each admitted update here and the
 * queue hands it to `UpdateRunner` when its turn comes.
 *
 * With `MERGE_WINDOW` set, a conversation's first plain text message waits the window and the
 * same sender's text messages queued meanwhile run with it as one turn (`TurnMerge.ts`).
 *
 * `ChatQueueInProcess` runs the queues in this process (one replica, any store). Another
 * implementation (a conversation as an `@effect/cluster` entity, for several replicas) can
 * provide the same interface: the dispatcher, the webhook and the poller do not change.
 */
import { Clock, Context, Duration, Effect, FiberSet, Layer, Option } from "effect"
import type { InboxEntry } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import { conversationKey, conversationOf } from "../domain/Conversation.ts"
import { callerConversationKey, callerOf } from "../domain/Caller.ts"
import { dialogMessage } from "../dialog/DialogPipeline.ts"
import {
  decodeUpdateJson,
  type MessageGenerationStopped,
  type TelegramId,
  type Update,
  updateChatId,
  updateMessage
} from "../domain/Update.ts"
import { RunningTurns } from "../dialog/RunningTurns.ts"
import { inboxPending, updateMetric, updatesRecovered } from "../observability/Metrics.ts"
import { Inbox } from "../store/Inbox.ts"
import { DispatcherConfig } from "./DispatcherConfig.ts"
import { ReadyList } from "./ReadyList.ts"
import { makeTurnMerge } from "./TurnMerge.ts"
import { countedStoreRetry, type UpdateJob, UpdateRunner } from "./UpdateRunner.ts"
import { retryLazily } from "../effect/retryLazily.ts"
import { around } from "../effect/locallyAll.ts"

export interface ChatQueueService {
  /**
   * Queues `job` behind the earlier jobs of its key; returns once it is queued, not run. Fails
   * only where queueing is a write (the cluster's persisted message): the update is then not
   * acknowledged, and Telegram delivers it again.
   */
  readonly submit: (job: UpdateJob) => Effect.Effect<void, StoreError>
  /**
   * Stops the running turn of the conversation `key` that shows the stopped draft, wherever it
   * runs (in the cluster, on whichever replica runs it); whether one was running.
   * It does not wait behind the conversation's queue: the turn to stop is what the queue runs.
   */
  readonly stop: (key: string, stopped: MessageGenerationStopped) => Effect.Effect<boolean, StoreError>
  /** Queues every pending inbox entry again, each under its chat's key; returns how many. */
  readonly recover: Effect.Effect<number, StoreError>
  /** Completes when no job is queued or running. */
  readonly awaitIdle: Effect.Effect<void>
  /** Jobs queued or running right now. */
  readonly outstanding: Effect.Effect<number>
  /**
   * After `shutdown`, the updates the stop left pending, where the queue knows them better than
   * its own count (the cluster: the shared inbox's pending entries, those of the chats queued on
   * this replica included). Without it, `outstanding` after `shutdown` is what was left.
   */
  readonly leftPending?: Effect.Effect<number>
  /**
   * Waits for the jobs queued and running until the shutdown deadline, then interrupts the
   * rest (their entries stay pending). Calling it again waits for the first call.
   */
  readonly shutdown: Effect.Effect<void>
  /**
   * Whether submitting an update twice runs it once (the cluster's messages are keyed by
   * update_id). Then the dispatcher submits a redelivered update again while its inbox entry
   * is pending, since the first submit may have failed after the update was recorded.
   */
  readonly idempotent?: boolean
  /**
   * Whether the queue applies flood protection itself, where each chat runs (the cluster: the
   * buckets move with the chat's entity). Then the dispatcher queues every update unjudged.
   */
  readonly gatesFloods?: boolean
}

export class ChatQueue extends Context.Tag("dialog-bot/ChatQueue")<ChatQueue, ChatQueueService>() {}

/**
 * The key an update is ordered under: its conversation (the chat, or the chat's forum topic),
 * or the update alone when it has no chat.
 */
export const chatKey = (update: Update): string => {
  const message = updateMessage(update) ?? update.callback_query?.message
  if (message !== undefined) return conversationKey(conversationOf(message))
  const stopped = update.stopped_message_generation
  if (stopped !== undefined) {
    return conversationKey(stopped.message_thread_id === undefined
      ? stopped.chat.id
      : { chatId: stopped.chat.id, threadId: stopped.message_thread_id })
  }
  // A guest turn or an inline result: the caller's own conversation there (domain/Caller.ts).
  const called = callerConversationKey(update)
  if (Option.isSome(called)) return called.value
  const chat = updateChatId(update)
  return chat._tag === "Some" ? `chat:${chat.value}` : `update:${update.update_id}`
}

/**
 * The user whose flood bucket an update takes a token from: the author of a message, the caller
 * of a guest turn or an inline result; none for other updates (an inline query, typed letter by
 * letter, included: only the last one of a burst is answered, `dialog/InlineQueries.ts`).
 */
export const floodSender = (update: Update): Option.Option<TelegramId> =>
  Option.orElse(Option.flatMap(dialogMessage(update), (m) => Option.fromNullable(m.from?.id)), () => callerOf(update))

/** A queued job whose payload waits in the inbox: memory holds its id and key only. */
class Parked {
  constructor(
    readonly updateId: TelegramId,
    readonly key: string,
    readonly flooded: boolean,
    readonly queuedAt: number
  ) {}
}

/**
 * The chats' queues in this process. Each chat's jobs wait in an array (its mailbox); a chat
 * whose next job may start waits as a key in the ready list; workers, at most
 * `maxConcurrentDialogs`, take the chat first in line and run its next job. Shutdown (also
 * when the scope closes) waits for the queue to drain until `shutdownDeadline`.
 */
export const makeChatQueue = Effect.gen(function*() {
  const config = yield* DispatcherConfig
  const inbox = yield* Inbox
  const runner = yield* UpdateRunner
  const fibers = yield* FiberSet.make()
  // Without the registry (a queue over a bare runner, as in the benchmarks) no turn can be stopped.
  const turns = yield* Effect.serviceOption(RunningTurns)
  /** Jobs queued or running. */
  let outstanding = 0
  /** Open while no job is queued or running. */
  const idle = yield* Effect.makeLatch(true)
  /** Each key's queued jobs, in order; the first one is running or about to. */
  const mailboxes = new Map<string, Array<UpdateJob | Parked>>()
  /** Keys whose next job may start, each at most once, in the order they became ready. */
  const ready = new ReadyList<string>()
  /** Worker fibers running (at most `maxConcurrentDialogs`). */
  let workers = 0
  /** Queued jobs that hold a decoded update (bounded by `maxQueuedInMemory`). */
  let loaded = 0
  /** Quick successive messages (`MERGE_WINDOW`): keys whose first job waits for more, with when the window closes. */
  const merge = yield* makeTurnMerge
  const windows = new Map<string, number>()

  const changeOutstanding = (delta: number) =>
    Effect.suspend(() => {
      outstanding += delta
      if (outstanding === 0) idle.unsafeOpen()
      else idle.unsafeClose()
      return updateMetric(inboxPending, outstanding)
    })

  /** Reads a parked job's payload from the inbox; none when it cannot run (settled or undecodable). */
  const load = (parked: Parked): Effect.Effect<Option.Option<UpdateJob>> =>
    inbox.entry(parked.updateId).pipe(
      retryLazily(countedStoreRetry("dispatcher_load")),
      Effect.flatMap((entry) => {
        if (Option.isNone(entry) || entry.value.status !== "pending") return Effect.succeed(Option.none<UpdateJob>())
        const delivered = entry.value.delivered
        return decodeUpdateJson(entry.value.payload).pipe(
          Effect.map((update): Option.Option<UpdateJob> =>
            Option.some({
              updateId: parked.updateId,
              key: parked.key,
              update,
              flooded: parked.flooded,
              intake: Option.none(),
              queuedAt: parked.queuedAt,
              deliveredBefore: delivered
            })
          ),
          Effect.catchAll((e) =>
            Effect.as(runner.markFailed(parked.updateId, `undecodable: ${e.message.slice(0, 200)}`), Option.none<UpdateJob>())
          )
        )
      }),
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logError(`queued update ${parked.updateId} not read from the inbox, it will run at the next start: ${e.message}`),
          Option.none<UpdateJob>()
        )
      )
    )

  /** The decoded jobs queued after the first one of a mailbox, up to the first parked one. */
  const loadedAfter = (queue: ReadonlyArray<UpdateJob | Parked>): ReadonlyArray<UpdateJob> => {
    const jobs: Array<UpdateJob> = []
    for (const job of queue.slice(1)) {
      if (job instanceof Parked) break
      jobs.push(job)
    }
    return jobs
  }

  /** Runs the first queued job of a key, then puts the key back in line if more are waiting. */
  const runNext = (key: string): Effect.Effect<void> =>
    Effect.gen(function*() {
      const queue = mailboxes.get(key)
      const next = queue?.[0]
      if (queue === undefined || next === undefined) return
      const closesAt = windows.get(key)
      windows.delete(key)
      /** Jobs the run settles: one, or the messages of a merged turn. */
      let taken = 1
      if (next instanceof Parked) {
        const job = yield* load(next)
        if (Option.isSome(job)) yield* runner.run(job.value)
      } else if (closesAt !== undefined) {
        const turn = yield* merge.gather(next, loadedAfter(queue), closesAt)
        taken = turn.count
        yield* runner.run(turn.job).pipe(around(() => () => void (loaded -= taken)))
      } else {
        yield* runner.run(next).pipe(around(() => () => void loaded--))
      }
      queue.splice(0, taken)
      if (queue.length === 0) mailboxes.delete(key)
      else ready.push(key)
      yield* changeOutstanding(-taken)
    })

  /** A worker: runs the next job of the key first in line, again and again, until none is ready. */
  const work: Effect.Effect<void> = Effect.suspend(() => {
    const key = ready.take()
    if (key === undefined) {
      workers--
      return Effect.void
    }
    return Effect.zipRight(runNext(key), work)
  })

  /**
   * Starts workers while fewer than `maxConcurrentDialogs` run and keys are ready: however many
   * chats wait, they wait as keys in `ready`, not as fibers. A worker is forked by the submit
   * that made work ready, so it runs with that caller's services (a replay's fixed clock).
   */
  const startWorkers = Effect.suspend(() => {
    const idle = Math.min(config.maxConcurrentDialogs - workers, ready.size)
    if (idle <= 0) return Effect.void
    workers += idle
    return Effect.forEach(Array.from({ length: idle }), () => FiberSet.run(fibers, work), { discard: true })
  })

  const submit = (job: UpdateJob) =>
    Effect.gen(function*() {
      yield* changeOutstanding(1)
      // Above the threshold only the id waits in memory; the payload is read again from the inbox.
      const queued = loaded < config.maxQueuedInMemory ? job : new Parked(job.updateId, job.key, job.flooded, job.queuedAt)
      if (queued === job) loaded++
      const queue = mailboxes.get(job.key)
      if (queue) {
        queue.push(queued)
        return
      }
      mailboxes.set(job.key, [queued])
      if (queued === job && Option.isSome(merge.window) && merge.opens(job)) {
        // The conversation was idle: its first message waits for more before its turn starts.
        const window = merge.window.value
        windows.set(job.key, job.queuedAt + Duration.toMillis(window))
        yield* FiberSet.run(fibers, Effect.sleep(window).pipe(Effect.zipRight(Effect.suspend(() => {
          ready.push(job.key)
          return startWorkers
        }))))
        return
      }
      ready.push(job.key)
      yield* startWorkers
    })

  const requeue = (entry: InboxEntry) =>
    decodeUpdateJson(entry.payload).pipe(
      Effect.matchEffect({
        onFailure: (e) =>
          Effect.zipRight(
            Effect.logWarning(`pending update ${entry.updateId} cannot be decoded, marked failed`),
            runner.markFailed(entry.updateId, `undecodable: ${e.message.slice(0, 200)}`)
          ).pipe(Effect.as(0)),
        onSuccess: (update) =>
          Clock.currentTimeMillis.pipe(
            Effect.flatMap((queuedAt) =>
              submit({
                updateId: entry.updateId,
                key: chatKey(update),
                update,
                flooded: false,
                intake: Option.none(),
                queuedAt,
                deliveredBefore: entry.delivered
              })
            ),
            Effect.zipRight(updateMetric(updatesRecovered, 1)),
            Effect.as(1)
          )
      })
    )

  const recover = Effect.gen(function*() {
    const entries = yield* inbox.pending()
    const counts = yield* Effect.forEach(entries, requeue)
    const count = counts.reduce((a, b) => a + b, 0)
    if (count > 0) yield* Effect.logInfo(`recovered ${count} pending updates from the inbox`)
    return count
  })

  const awaitIdle = idle.await

  // Shutting down twice (a signal, then the scope closing) waits once.
  const shutdown = yield* Effect.cached(Effect.gen(function*() {
    const drained = yield* awaitIdle.pipe(Effect.interruptible, Effect.timeout(config.shutdownDeadline), Effect.isSuccess)
    if (!drained) yield* Effect.logWarning(`shutdown deadline reached, interrupting ${outstanding} updates (they stay pending)`)
    yield* FiberSet.clear(fibers)
  }))
  yield* Effect.addFinalizer(() => shutdown)

  const stop: ChatQueueService["stop"] = (_key, stopped) =>
    Option.match(turns, { onNone: () => Effect.succeed(false), onSome: (running) => running.stop(stopped.chat.id, stopped.draft_id) })

  return ChatQueue.of({ submit, stop, recover, awaitIdle, outstanding: Effect.sync(() => outstanding), shutdown })
})

/** The chats' queues in this process: one replica, any store. Needs an `UpdateRunner`. */
export const ChatQueueInProcess = Layer.scoped(ChatQueue, makeChatQueue)
