/**
 * The dispatcher: one fiber per update inside the dispatcher's scope.
 *
 * `submit` records an update in the inbox (dedupe by update_id) and queues it in its chat's
 * mailbox; it returns as soon as the record is durable, so the webhook can acknowledge
 * before any dialog work. Updates of one chat run strictly in order, chats run in parallel
 * under a global limit, each update has a deadline (then the apology), and a store failure
 * is retried before the update is given up. On start, every pending inbox entry (an update
 * acknowledged before a crash) is queued again; on shutdown intake stops and the dialogs in
 * flight drain until a deadline, after which they are interrupted and stay pending.
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  Either,
  FiberSet,
  Layer,
  Metric,
  Option,
  Schedule,
  ScheduleDecision,
  Schema,
  Stream,
  SubscriptionRef,
  type Tracer
} from "effect"
import { type AnswerCommit, CurrentAnswerCommit, CurrentUpdateId } from "../domain/CurrentUpdate.ts"
import { DispatcherConfig } from "../config.ts"
import type { InboxEntry, RecordResult } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import { decodeUpdateJson, type TelegramId, type Update, updateChatId, updateKind } from "../domain/Update.ts"
import { DialogPipeline, type Outcome } from "../dialog/DialogPipeline.ts"
import {
  countRetry,
  dialogsInFlight,
  inboxPending,
  updateDuration,
  updateQueueDuration,
  updatesDeduplicated,
  updatesProcessed,
  updatesReceived,
  updatesRecovered
} from "../observability/Metrics.ts"
import { Inbox } from "../store/Inbox.ts"

/** Intake has stopped: the process is shutting down. */
export class DispatcherClosed extends Schema.TaggedError<DispatcherClosed>()("DispatcherClosed", {}) {}

export interface ReceivedUpdate {
  /** The update's JSON as received (kept in the inbox). */
  readonly json: string
  readonly update: Update
}

export interface DispatcherService {
  /** Records and schedules an update; `Duplicate` (and nothing scheduled) when it was seen before. */
  readonly submit: (received: ReceivedUpdate) => Effect.Effect<RecordResult, StoreError | DispatcherClosed>
  /** Queues every pending inbox entry again; returns how many. Done once when the layer starts. */
  readonly recover: Effect.Effect<number, StoreError>
  /** Completes when no update is queued or running. */
  readonly awaitIdle: Effect.Effect<void>
  /** Updates queued or running right now. */
  readonly outstanding: Effect.Effect<number>
  /** Stops intake, waits for the dialogs in flight until the shutdown deadline, interrupts the rest. */
  readonly shutdown: Effect.Effect<void>
}

export class Dispatcher extends Context.Tag("Dispatcher")<Dispatcher, DispatcherService>() {}

interface Job {
  readonly updateId: TelegramId
  readonly key: string
  readonly update: Update
  /** The `update.intake` span: the update's processing continues its trace. None when recovered. */
  readonly intake: Option.Option<Tracer.AnySpan>
  /** When the update was queued (epoch millis). */
  readonly queuedAt: number
}

const storeRetry = Schedule.exponential("100 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(3))
)

/** The store retry policy, counting each retry of `operation` in `bot_retries_total`. */
const countedStoreRetry = (operation: string) =>
  storeRetry.pipe(
    Schedule.onDecision((_, decision) => (ScheduleDecision.isContinue(decision) ? countRetry(operation) : Effect.void))
  )

/**
 * The retry policy of finishing an update (done or failed): its answer is out, so an entry left
 * pending would be answered a second time after a restart. It outlasts a store outage of
 * several seconds (delays from 100 ms, at most 1 s each, for up to 30 s); the chat's next
 * update waits meanwhile, as it would fail against the same store anyway.
 */
const finishRetry = Schedule.exponential("100 millis", 2).pipe(
  Schedule.jittered,
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.seconds(1))),
  Schedule.upTo("30 seconds"),
  Schedule.onDecision((_, decision) => (ScheduleDecision.isContinue(decision) ? countRetry("inbox_finish") : Effect.void))
)

const isStoreError = (e: { readonly _tag: string }): boolean => e._tag === "StoreError"

export const makeDispatcher = Effect.gen(function*() {
  const config = yield* DispatcherConfig
  const inbox = yield* Inbox
  const pipeline = yield* DialogPipeline
  const fibers = yield* FiberSet.make()
  const outstanding = yield* SubscriptionRef.make(0)
  const permits = yield* Effect.makeSemaphore(config.maxConcurrentDialogs)
  const mailboxes = new Map<string, Array<Job>>()
  let closed = false

  const finish = (updateId: TelegramId, outcome: Either.Either<void, string>) =>
    Either.match(outcome, {
      onRight: () => inbox.markDone(updateId),
      onLeft: (reason) => inbox.markFailed(updateId, reason)
    }).pipe(
      Effect.retry(finishRetry),
      Effect.catchAll((e) => Effect.logError(`inbox entry not updated, it will run again at the next start: ${e.message}`))
    )

  const describe = (outcome: Outcome) =>
    outcome._tag === "Answered"
      ? `answered (${outcome.stage}${outcome.fallback ? ", with fallback" : ""})`
      : outcome._tag === "Command"
      ? `command /${outcome.command}`
      : outcome._tag === "Replied"
      ? `replied (${outcome.reason})`
      : outcome._tag === "Membership"
      ? `membership (${outcome.blocked ? "blocked" : "unblocked"})`
      : `skipped (${outcome.reason})`

  /**
   * The outcome of an update as an operator sees it: counted by outcome, its duration measured,
   * put on the span, and `line` logged with `outcome`, `duration_ms` and the dialog `stage`.
   */
  const report = (startedAt: number, outcome: string, stage: Option.Option<string>, line: Effect.Effect<void>) =>
    Effect.gen(function*() {
      const durationMs = (yield* Clock.currentTimeMillis) - startedAt
      yield* Metric.increment(Metric.tagged(updatesProcessed, "outcome", outcome))
      yield* Metric.update(Metric.tagged(updateDuration, "outcome", outcome), Duration.millis(durationMs))
      const stageTag = Option.match(stage, { onNone: () => ({}), onSome: (id) => ({ stage: id }) })
      yield* Effect.annotateCurrentSpan({ outcome, ...stageTag })
      yield* line.pipe(Effect.annotateLogs({ outcome, duration_ms: durationMs, ...stageTag }))
    })

  const handle = (job: Job): Effect.Effect<void> =>
    Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      yield* Metric.update(updateQueueDuration, Duration.millis(Math.max(0, startedAt - job.queuedAt)))
      // The deadline interrupts the dialog unless its answer has started to go out (then the
      // send finishes under its own bounded retries: an apology after it would be a second message).
      const commit: AnswerCommit = { committed: false }
      const deadline = Effect.sleep(config.updateDeadline).pipe(
        Effect.zipRight(Effect.suspend(() => (commit.committed ? Effect.never : Effect.fail("deadline" as const))))
      )
      return yield* pipeline.handle(job.update).pipe(
        Effect.retry({ schedule: countedStoreRetry("dispatcher_store").pipe(Schedule.whileInput(isStoreError)) }),
        Effect.locally(CurrentAnswerCommit, Option.some(commit)),
        Effect.raceFirst(deadline),
        Effect.matchCauseEffect({
          onSuccess: (outcome) =>
            Effect.zipRight(
              report(
                startedAt,
                outcome._tag.toLowerCase(),
                outcome._tag === "Answered" ? Option.some(outcome.stage) : Option.none(),
                Effect.logInfo(`update ${describe(outcome)}`)
              ),
              finish(job.updateId, Either.right(undefined))
            ),
          onFailure: (cause) => {
            if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
            const failure = Cause.failureOption(cause)
            if (failure._tag === "Some" && failure.value !== "deadline" && failure.value._tag === "RecipientBlocked") {
              return Effect.zipRight(
                report(startedAt, "blocked", Option.none(), Effect.logInfo("update not answered: the user blocked the bot")),
                finish(job.updateId, Either.right(undefined))
              )
            }
            const reason = failure._tag === "None"
              ? `defect: ${Cause.pretty(cause).split("\n")[0] ?? "unknown"}`
              : failure.value === "deadline"
              ? "deadline exceeded"
              : `${failure.value._tag}: ${failure.value.message}`
            const outcome = failure._tag === "Some" && failure.value === "deadline" ? "deadline" : "failed"
            return report(startedAt, outcome, Option.none(), Effect.logWarning(`update failed, sending the apology: ${reason}`)).pipe(
              Effect.zipRight(pipeline.apologize(job.update)),
              Effect.zipRight(finish(job.updateId, Either.left(reason)))
            )
          }
        })
      )
    }).pipe(
      (effect) =>
        Effect.acquireUseRelease(
          Metric.increment(dialogsInFlight),
          () => effect,
          () => Metric.modify(dialogsInFlight, -1)
        )
    )

  const run = (job: Job): Effect.Effect<void> => {
    const chatId = updateChatId(job.update)
    const processing = handle(job).pipe(
      permits.withPermits(1),
      Effect.locally(CurrentUpdateId, Option.some(job.updateId)),
      Effect.annotateLogs({ update_id: job.updateId, ...(Option.isSome(chatId) ? { chat_id: chatId.value } : {}) }),
      Effect.withSpan("dispatcher.update", {
        attributes: { update_id: job.updateId, ...(Option.isSome(chatId) ? { chat_id: chatId.value } : {}) },
        // A recovered update has no intake span: its processing starts a trace of its own.
        root: Option.isNone(job.intake)
      })
    )
    // The mailbox fiber was forked by some earlier intake: each update continues its own trace.
    return Option.match(job.intake, { onNone: () => processing, onSome: (span) => Effect.withParentSpan(processing, span) })
  }

  const changeOutstanding = (delta: number) =>
    Effect.flatMap(SubscriptionRef.updateAndGet(outstanding, (n) => n + delta), (n) => Metric.set(inboxPending, n))

  /** Runs a chat's mailbox until it is empty; only one such fiber exists per chat. */
  const drain = (key: string): Effect.Effect<void> =>
    Effect.gen(function*() {
      while (true) {
        const queue = mailboxes.get(key)
        const job = queue?.[0]
        if (queue === undefined || job === undefined) return
        yield* run(job)
        queue.shift()
        if (queue.length === 0) mailboxes.delete(key)
        yield* changeOutstanding(-1)
      }
    })

  const enqueue = (job: Job) =>
    Effect.gen(function*() {
      yield* changeOutstanding(1)
      const queue = mailboxes.get(job.key)
      if (queue) {
        queue.push(job)
        return
      }
      mailboxes.set(job.key, [job])
      yield* FiberSet.run(fibers, drain(job.key))
    })

  const keyOf = (update: Update) => {
    const chat = updateChatId(update)
    return chat._tag === "Some" ? `chat:${chat.value}` : `update:${update.update_id}`
  }

  /**
   * Each update starts a trace of its own, whatever the caller's span (a webhook request, or a
   * poller whose loop is one long span shared by every update it receives): the intake span
   * links to the caller's span instead of being its child.
   */
  const intakeSpan = (attributes: Record<string, unknown>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(Effect.option(Effect.currentParentSpan), (caller) =>
      Effect.withSpan(effect, "update.intake", {
        kind: "consumer",
        root: true,
        attributes,
        links: Option.match(caller, {
          onNone: () => [],
          onSome: (span): ReadonlyArray<Tracer.SpanLink> => [{ _tag: "SpanLink", span, attributes: { received_in: "caller" } }]
        })
      }))

  const submit: DispatcherService["submit"] = ({ json, update }) => {
    const chat = updateChatId(update)
    const kind = updateKind(update)
    const chatTag = chat._tag === "Some" ? { chat_id: chat.value } : {}
    return Effect.gen(function*() {
      yield* Metric.increment(Metric.tagged(updatesReceived, "kind", kind))
      if (closed) return yield* Effect.fail(new DispatcherClosed())
      const result = yield* inbox.record({
        updateId: update.update_id,
        chatId: chat._tag === "Some" ? chat.value : undefined,
        payload: json
      })
      yield* Effect.annotateCurrentSpan("duplicate", result !== "New")
      if (result === "New") {
        const intake = yield* Effect.option(Effect.currentSpan)
        yield* enqueue({ updateId: update.update_id, key: keyOf(update), update, intake, queuedAt: yield* Clock.currentTimeMillis })
      } else {
        yield* Metric.increment(updatesDeduplicated)
        yield* Effect.logDebug("duplicate update ignored")
      }
      return result
    }).pipe(
      Effect.annotateLogs({ update_id: update.update_id, ...chatTag }),
      intakeSpan({ update_id: update.update_id, kind, ...chatTag })
    )
  }

  const requeue = (entry: InboxEntry) =>
    decodeUpdateJson(entry.payload).pipe(
      Effect.matchEffect({
        onFailure: (e) =>
          Effect.zipRight(
            Effect.logWarning(`pending update ${entry.updateId} cannot be decoded, marked failed`),
            finish(entry.updateId, Either.left(`undecodable: ${e.message.slice(0, 200)}`))
          ).pipe(Effect.as(0)),
        onSuccess: (update) =>
          Clock.currentTimeMillis.pipe(
            Effect.flatMap((queuedAt) =>
              enqueue({ updateId: entry.updateId, key: keyOf(update), update, intake: Option.none(), queuedAt })
            ),
            Effect.zipRight(Metric.increment(updatesRecovered)),
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

  const awaitIdle = outstanding.changes.pipe(Stream.takeUntil((n) => n === 0), Stream.runDrain)

  // Shutting down twice (a signal, then the scope closing) waits once.
  const shutdown = yield* Effect.cached(Effect.gen(function*() {
    closed = true
    const drained = yield* awaitIdle.pipe(Effect.interruptible, Effect.timeout(config.shutdownDeadline), Effect.isSuccess)
    const left = yield* SubscriptionRef.get(outstanding)
    if (!drained) yield* Effect.logWarning(`shutdown deadline reached, interrupting ${left} updates (they stay pending)`)
    yield* FiberSet.clear(fibers)
  }))

  yield* Effect.addFinalizer(() => shutdown)
  yield* recover

  return Dispatcher.of({ submit, recover, awaitIdle, outstanding: SubscriptionRef.get(outstanding), shutdown })
})

export const DispatcherLive = Layer.scoped(Dispatcher, makeDispatcher)
