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
import { CurrentDelivery, CurrentUpdateId, type Delivery, makeDelivery, restartDelivery } from "../domain/CurrentUpdate.ts"
import { DispatcherConfig } from "./DispatcherConfig.ts"
import type { InboxEntry, RecordResult } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import { decodeUpdateJson, type TelegramId, type Update, updateChatId, updateKind } from "../domain/Update.ts"
import { dialogMessage, DialogPipeline, type Outcome } from "../dialog/DialogPipeline.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { Intake, IntakeClosed, type IntakeService } from "../telegram/Intake.ts"
import { Messenger } from "../telegram/Messenger.ts"
import {
  countRetry,
  dialogsInFlight,
  inboxPending,
  updateDuration,
  updateQueueDuration,
  updatesDeduplicated,
  updatesFlooded,
  updatesProcessed,
  updatesReceived,
  updatesRecovered
} from "../observability/Metrics.ts"
import { Inbox } from "../store/Inbox.ts"

export interface DispatcherService extends IntakeService {
  /** Queues every pending inbox entry again; returns how many. Done once when the layer starts. */
  readonly recover: Effect.Effect<number, StoreError>
  /** Completes when no update is queued or running. */
  readonly awaitIdle: Effect.Effect<void>
}

export class Dispatcher extends Context.Tag("dialog-bot/Dispatcher")<Dispatcher, DispatcherService>() {}

interface Job {
  readonly _tag: "Job"
  readonly updateId: TelegramId
  readonly key: string
  readonly update: Update
  /** Dropped by flood protection: the job only tells the user so (once per window) and settles the entry. */
  readonly flooded: boolean
  /** The `update.intake` span: the update's processing continues its trace. None when recovered. */
  readonly intake: Option.Option<Tracer.AnySpan>
  /** When the update was queued (epoch millis). */
  readonly queuedAt: number
  /** Messages of the reply an earlier run delivered (from the inbox): this run does not send them again. */
  readonly deliveredBefore: number
}

/** A queued update whose payload waits in the inbox: memory holds its id and chat only. */
interface Parked {
  readonly _tag: "Parked"
  readonly updateId: TelegramId
  readonly key: string
  readonly flooded: boolean
  readonly queuedAt: number
}

/** One user's token bucket (flood protection). */
interface Bucket {
  tokens: number
  updatedAt: number
  noticeAt: number
}

/** Buckets kept before the full (idle) ones are dropped. */
const bucketSoftCap = 10_000

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
  // The flood notice is sent when the bot has a messenger and a profile (a dispatcher over a bare
  // pipeline, as in the benchmarks, only settles the dropped updates).
  const notices = Option.all({ messenger: yield* Effect.serviceOption(Messenger), profile: yield* Effect.serviceOption(BotProfile) })
  const fibers = yield* FiberSet.make()
  const outstanding = yield* SubscriptionRef.make(0)
  /** Each chat's queued updates, in order; the first one is running or about to. */
  const mailboxes = new Map<string, Array<Job | Parked>>()
  /** Chats whose next update may start, each at most once, in the order they became ready. */
  let ready: Array<string> = []
  let readyHead = 0
  /** Worker fibers running (at most `maxConcurrentDialogs`). */
  let workers = 0
  /** Queued jobs that hold a decoded update (bounded by `maxQueuedInMemory`). */
  let loaded = 0
  const buckets = new Map<number, Bucket>()
  let closed = false

  const finish = (updateId: TelegramId, outcome: Either.Either<void, string>, note?: string) =>
    Either.match(outcome, {
      onRight: () => inbox.markDone(updateId, note),
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

  const handle = (job: Job, cell: Delivery): Effect.Effect<void> =>
    Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      yield* Metric.update(updateQueueDuration, Duration.millis(Math.max(0, startedAt - job.queuedAt)))
      // The deadline interrupts the dialog unless its answer has started to go out (then the
      // send finishes under its own bounded retries: an apology after it would be a second message).
      const deadline = Effect.sleep(config.updateDeadline).pipe(
        Effect.zipRight(Effect.suspend(() => (cell.committed ? Effect.never : Effect.fail("deadline" as const))))
      )
      // Each attempt starts past the messages earlier attempts sent (a retry sends the reply
      // stored by the first attempt: its parts already out are not sent twice).
      const attempt = Effect.suspend(() => {
        restartDelivery(cell)
        return pipeline.handle(job.update)
      })
      return yield* attempt.pipe(
        Effect.retry({ schedule: countedStoreRetry("dispatcher_store").pipe(Schedule.whileInput(isStoreError)) }),
        Effect.raceFirst(deadline),
        Effect.matchCauseEffect({
          // Done first, then reported: the shorter the time between the answer going out and
          // its entry marked done, the fewer answers a crash makes the next start send again.
          onSuccess: (outcome) =>
            Effect.zipRight(
              finish(job.updateId, Either.right(undefined)),
              report(
                startedAt,
                outcome._tag.toLowerCase(),
                outcome._tag === "Answered" ? Option.some(outcome.stage) : Option.none(),
                Effect.logInfo(`update ${describe(outcome)}`)
              )
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
    // One delivery cell for everything the update sends (its answer, the apology or the flood
    // notice): the messenger skips what an earlier run delivered and records what goes out.
    const cell = makeDelivery(job.deliveredBefore)
    const processing = (job.flooded ? notifyFlood(job) : handle(job, cell)).pipe(
      Effect.locally(CurrentDelivery, Option.some(cell)),
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

  /** Reads a parked update's payload from the inbox; none when it cannot run (settled or undecodable). */
  const load = (parked: Parked): Effect.Effect<Option.Option<Job>> =>
    inbox.entry(parked.updateId).pipe(
      Effect.retry(countedStoreRetry("dispatcher_load")),
      Effect.flatMap((entry) => {
        if (Option.isNone(entry) || entry.value.status !== "pending") return Effect.succeed(Option.none<Job>())
        return decodeUpdateJson(entry.value.payload).pipe(
          Effect.map((update): Option.Option<Job> =>
            Option.some({ ...parked, _tag: "Job", update, intake: Option.none(), deliveredBefore: entry.value.delivered })
          ),
          Effect.catchAll((e) =>
            Effect.as(finish(parked.updateId, Either.left(`undecodable: ${e.message.slice(0, 200)}`)), Option.none<Job>())
          )
        )
      }),
      Effect.catchAll((e) =>
        Effect.as(
          Effect.logError(`queued update ${parked.updateId} not read from the inbox, it will run at the next start: ${e.message}`),
          Option.none<Job>()
        )
      )
    )

  /** Runs the first queued update of a chat, then puts the chat back in line if more are waiting. */
  const runNext = (key: string): Effect.Effect<void> =>
    Effect.gen(function*() {
      const queue = mailboxes.get(key)
      const next = queue?.[0]
      if (queue === undefined || next === undefined) return
      if (next._tag === "Job") {
        yield* run(next).pipe(Effect.ensuring(Effect.sync(() => void loaded--)))
      } else {
        const job = yield* load(next)
        if (Option.isSome(job)) yield* run(job.value)
      }
      queue.shift()
      if (queue.length === 0) mailboxes.delete(key)
      else markReady(key)
      yield* changeOutstanding(-1)
    })

  const markReady = (key: string) => {
    ready.push(key)
  }
  const takeReady = (): string | undefined => {
    if (readyHead >= ready.length) return undefined
    const key = ready[readyHead++]
    if (readyHead > 1024 && readyHead * 2 > ready.length) {
      ready = ready.slice(readyHead)
      readyHead = 0
    }
    return key
  }

  /** A worker: runs the next update of the chat first in line, again and again, until none is ready. */
  const work: Effect.Effect<void> = Effect.suspend(() => {
    const key = takeReady()
    if (key === undefined) {
      workers--
      return Effect.void
    }
    return Effect.zipRight(runNext(key), work)
  })

  /**
   * Starts workers while fewer than `maxConcurrentDialogs` run and chats are ready: however many
   * chats wait, they wait as keys in `ready`, not as fibers. A worker is forked by the intake
   * that made work ready, so it runs with that caller's services (a replay's fixed clock).
   */
  const startWorkers = Effect.suspend(() => {
    const idle = Math.min(config.maxConcurrentDialogs - workers, ready.length - readyHead)
    if (idle <= 0) return Effect.void
    workers += idle
    return Effect.forEach(Array.from({ length: idle }), () => FiberSet.run(fibers, work), { discard: true })
  })

  const enqueue = (job: Job) =>
    Effect.gen(function*() {
      yield* changeOutstanding(1)
      // Above the threshold only the id waits in memory; the payload is read again from the inbox.
      const queued: Job | Parked = loaded < config.maxQueuedInMemory
        ? job
        : { _tag: "Parked", updateId: job.updateId, key: job.key, flooded: job.flooded, queuedAt: job.queuedAt }
      if (queued._tag === "Job") loaded++
      const queue = mailboxes.get(job.key)
      if (queue) {
        queue.push(queued)
        return
      }
      mailboxes.set(job.key, [queued])
      markReady(job.key)
      yield* startWorkers
    })

  /**
   * Flood protection: takes a token from the user's bucket (`floodBurst` tokens, one more per
   * `floodRefill`). `Allowed`, or `Dropped` with whether the user should be told (once per
   * `floodNoticeInterval`).
   */
  const admit = (userId: number, now: number): "Allowed" | "DroppedWithNotice" | "Dropped" => {
    const refillMs = Math.max(1, Duration.toMillis(config.floodRefill))
    let bucket = buckets.get(userId)
    if (bucket === undefined) {
      if (buckets.size >= bucketSoftCap) {
        const idleMs = refillMs * config.floodBurst
        const noticeMs = Duration.toMillis(config.floodNoticeInterval)
        for (const [id, b] of buckets) {
          if (now - b.updatedAt >= idleMs && now - b.noticeAt >= noticeMs) buckets.delete(id)
        }
      }
      bucket = { tokens: config.floodBurst, updatedAt: now, noticeAt: Number.NEGATIVE_INFINITY }
      buckets.set(userId, bucket)
    }
    bucket.tokens = Math.min(config.floodBurst, bucket.tokens + (now - bucket.updatedAt) / refillMs)
    bucket.updatedAt = now
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return "Allowed"
    }
    if (now - bucket.noticeAt >= Duration.toMillis(config.floodNoticeInterval)) {
      bucket.noticeAt = now
      return "DroppedWithNotice"
    }
    return "Dropped"
  }

  const floodNote = "dropped by flood protection: the user sent messages too fast"

  /** The notice of a flood, sent in the chat's order; the dropped update is settled either way. */
  const notifyFlood = (job: Job): Effect.Effect<void> =>
    Option.match(Option.all({ message: dialogMessage(job.update), notices }), {
      onNone: () => Effect.void,
      onSome: ({ message, notices: { messenger, profile } }) =>
        messenger.reply(message.chat.id, profile.texts.tooFast).pipe(
          Effect.timeout(config.updateDeadline),
          Effect.catchAll((e) => Effect.logWarning(`flood notice not sent: ${e._tag}`))
        )
    }).pipe(Effect.zipRight(finish(job.updateId, Either.right(undefined), floodNote)))

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
      if (closed) return yield* Effect.fail(new IntakeClosed())
      const result = yield* inbox.record({
        updateId: update.update_id,
        chatId: chat._tag === "Some" ? chat.value : undefined,
        payload: json
      })
      yield* Effect.annotateCurrentSpan("duplicate", result !== "New")
      if (result === "New") {
        const intake = yield* Effect.option(Effect.currentSpan)
        const now = yield* Clock.currentTimeMillis
        const sender = Option.flatMap(dialogMessage(update), (m) => Option.fromNullable(m.from?.id))
        const admitted = config.floodBurst > 0 && Option.isSome(sender) ? admit(sender.value, now) : "Allowed"
        if (admitted !== "Allowed") {
          yield* Metric.increment(updatesFlooded)
          yield* Effect.logInfo(`update dropped by flood protection${admitted === "DroppedWithNotice" ? ", the user is told" : ""}`)
        }
        if (admitted === "Dropped") {
          yield* finish(update.update_id, Either.right(undefined), floodNote)
        } else {
          yield* enqueue({
            _tag: "Job",
            updateId: update.update_id,
            key: keyOf(update),
            update,
            flooded: admitted === "DroppedWithNotice",
            intake,
            queuedAt: now,
            deliveredBefore: 0
          })
        }
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
              enqueue({
                _tag: "Job",
                updateId: entry.updateId,
                key: keyOf(update),
                update,
                flooded: false,
                intake: Option.none(),
                queuedAt,
                deliveredBefore: entry.delivered
              })
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

/** The dispatcher, also provided as the `Intake` the webhook and the poller hand updates to. */
export const DispatcherLive = Layer.scopedContext(
  Effect.map(makeDispatcher, (dispatcher) => Context.make(Dispatcher, dispatcher).pipe(Context.add(Intake, dispatcher)))
)
