/**
 * One update's policy, from its turn to its end. The dialog runs under a deadline (a
 * `DeadlineExceeded` failure, unless its answer has started to go out), a store failure is
 * retried, a user who blocked the bot is not apologized to, any other failure gets the
 * apology; then the inbox entry is finished (done or failed, retried through a store outage)
 * and the outcome reported (metrics, log line, span). A flood notice is sent here too, in the
 * chat's order.
 *
 * Whatever runs the chats' queues (in process, or a cluster later) hands each update to this
 * service when its turn comes; interrupting `run` leaves the entry pending.
 */
import {
  Cause,
  Clock,
  Context,
  Duration,
  Effect,
  FiberRef,
  Layer,
  LogLevel,
  Option,
  Schedule,
  ScheduleDecision,
  type Tracer
} from "effect"
import { CurrentDelivery, CurrentUpdateId, type Delivery, makeDelivery, restartDelivery } from "../domain/CurrentUpdate.ts"
import { CurrentMergedParts, type MergedPart, mergedNote } from "../domain/MergedTurn.ts"
import { type TelegramId, type Update, updateChatId } from "../domain/Update.ts"
import { dialogMessage, DialogPipeline, type Outcome, type PipelineError } from "../dialog/DialogPipeline.ts"
import { countedWhile, countRetry, dialogsInFlight, updateDuration, updateMetric, updateQueueDuration, updatesProcessed, withTags } from "../observability/Metrics.ts"
import { annotatedSpan, withSpan } from "../observability/span.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { textsIn, updateLanguage } from "../profile/UserLanguage.ts"
import { Inbox } from "../store/Inbox.ts"
import { Messenger } from "../telegram/Messenger.ts"
import { destinationOf } from "../domain/Destination.ts"
import { DispatcherConfig } from "./DispatcherConfig.ts"
import { DeadlineExceeded, withDeadline } from "./Deadline.ts"
import { retryLazily } from "../effect/retryLazily.ts"
import { localAnnotations, localValue, locallyAll, locally, logAnnotated } from "../effect/locallyAll.ts"
import { CurrentPatience, makePatience, type PatienceCell, restartPatience } from "../effect/Breaker.ts"
import { Outages } from "../effect/Outages.ts"

/** An update ready to run: its payload decoded, its place in the trace and the inbox known. */
export interface UpdateJob {
  readonly updateId: TelegramId
  /** The queue key (the chat) the update is ordered under. */
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
  /**
   * Earlier updates answered in this update's turn (quick successive messages, `TurnMerge`):
   * settled when the turn finishes, before this one. None or empty: a turn of its own.
   */
  readonly merged?: ReadonlyArray<MergedPart> | undefined
  /** Recorded as new by the intake that queued it (not recovered, not re-queued): see `Delivery.fresh`. */
  readonly fresh?: boolean | undefined
}

export interface UpdateRunnerService {
  /** Runs one update to its end (answer or apology, entry finished, outcome reported); never fails. */
  readonly run: (job: UpdateJob) => Effect.Effect<void>
  /** Marks an entry done (with `note`, e.g. why it was dropped), under the finish retry policy. */
  readonly markDone: (updateId: TelegramId, note?: string) => Effect.Effect<void>
  /** Marks an entry failed with `reason` (it is not run again), under the finish retry policy. */
  readonly markFailed: (updateId: TelegramId, reason: string) => Effect.Effect<void>
}

export class UpdateRunner extends Context.Tag("dialog-bot/UpdateRunner")<UpdateRunner, UpdateRunnerService>() {}

/** The note of an update dropped by flood protection (kept in its inbox entry). */
export const floodNote = "dropped by flood protection: the user sent messages too fast"

const storeRetry = Schedule.exponential("100 millis", 2).pipe(
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(3))
)

/** The store retry policy, counting each retry of `operation` in `bot_retries_total`. */
export const countedStoreRetry = (operation: string) =>
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

const describe = (outcome: Outcome) =>
  outcome._tag === "Answered"
    ? `answered (${outcome.stage}${outcome.fallback ? ", with fallback" : ""})`
    : outcome._tag === "Command"
    ? `command /${outcome.command}`
    : outcome._tag === "Replied"
    ? `replied (${outcome.reason})`
    : outcome._tag === "Membership"
    ? `membership (${outcome.blocked ? "blocked" : "unblocked"})`
    : outcome._tag === "Stopped"
    ? `stopped by the user${outcome.kept ? " (the part shown kept)" : ""}`
    : `skipped (${outcome.reason})`

/**
 * The outcome label of an update that ended well: `waited` when it waited for a dependency that
 * was down, `fallback` when a dialog step fell back, else its kind (`answered`, `command`, …).
 */
const outcomeLabel = (outcome: Outcome, patience: PatienceCell) =>
  patience.waitedFor.size > 0
    ? "waited"
    : outcome._tag === "Answered" && outcome.fallback
    ? "fallback"
    : outcome._tag.toLowerCase()

/** The note kept with a done inbox entry that did not simply get its answer (none when it did). */
const outcomeNote = (label: string, patience: PatienceCell, apologized: boolean): string | undefined =>
  apologized
    ? `answered after the apology, once ${[...patience.waitedFor].join(" and ")} came back`
    : label === "waited"
    ? `answered after waiting for ${[...patience.waitedFor].join(" and ")}`
    : label === "fallback"
    ? "answered with a fallback"
    : undefined

/**
 * The outcome of an update as an operator sees it: counted by outcome, its duration measured,
 * put on the span, and `line` logged with `outcome`, `duration_ms` and the dialog `stage`.
 */
const report = (startedAt: number, outcome: string, stage: Option.Option<string>, level: LogLevel.LogLevel, line: string) =>
  // The clock and the metrics in one step, the span in the tracing check's (a generator of the same took a dozen).
  Effect.withFiberRuntime<void>((fiber) => {
    const durationMs = Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeMillis() - startedAt
    const labels = fiber.getFiberRef(FiberRef.currentMetricLabels)
    withTags(updatesProcessed, { outcome }).unsafeUpdate(1, labels)
    withTags(updateDuration, { outcome }).unsafeUpdate(Duration.millis(durationMs), labels)
    const stageTag = Option.match(stage, { onNone: () => ({}), onSome: (id) => ({ stage: id }) })
    return annotatedSpan({ outcome, ...stageTag }, logAnnotated(level, line, { outcome, duration_ms: durationMs, ...stageTag }))
  })

/** The update runner over the inbox, the pipeline and the dispatcher's settings. */
export const makeUpdateRunner = Effect.gen(function*() {
  const config = yield* DispatcherConfig
  const inbox = yield* Inbox
  const pipeline = yield* DialogPipeline
  const outages = yield* Effect.serviceOption(Outages)
  // The flood notice is sent when the bot has a messenger and a profile (a dispatcher over a bare
  // pipeline, as in the benchmarks, only settles the dropped updates).
  const notices = Option.all({ messenger: yield* Effect.serviceOption(Messenger), profile: yield* Effect.serviceOption(BotProfile) })

  const settle = <E extends { readonly message: string }>(write: Effect.Effect<void, E>) =>
    write.pipe(
      retryLazily(finishRetry),
      Effect.catchAll((e) => Effect.logError(`inbox entry not updated, it will run again at the next start: ${e.message}`))
    )
  const markDone = (updateId: TelegramId, note?: string) => settle(inbox.markDone(updateId, note))
  const markFailed = (updateId: TelegramId, reason: string) => settle(inbox.markFailed(updateId, reason))
  /**
   * Settles the updates merged into `job`'s turn, before `job` itself: while `job` is pending,
   * a re-run after a crash finds its stored reply and does not answer them again.
   */
  const settleMerged = (job: UpdateJob, failure?: string) =>
    Effect.forEach(job.merged ?? [], (part) =>
      failure === undefined
        ? markDone(part.updateId, mergedNote(job.updateId))
        : markFailed(part.updateId, `${mergedNote(job.updateId)}: ${failure}`), { discard: true })

  /**
   * A run that gave up on a dependency down past its patience: the apology (once), then the
   * update stays pending and runs again, in its chat's place, once the dependency answers (or
   * after another patience: the run itself is then the probe). Interrupted meanwhile (a
   * shutdown), it is still pending and runs at the next start.
   */
  const afterOutage = (job: UpdateJob, cell: Delivery, patience: PatienceCell, startedAt: number, apologized: boolean) => {
    const dependency = patience.gaveUp ?? "a dependency"
    const breaker = Option.flatMap(outages, (o) => Option.fromNullable(o.breaker(dependency)))
    const apology = apologized ? Effect.void : report(
      startedAt,
      "apologized",
      Option.none(),
      LogLevel.Warning,
      `${dependency} down past OUTAGE_PATIENCE, sending the apology; the update stays pending and runs once it is back`
    ).pipe(
      // Outside the delivery record: the answer still to come is the update's first message.
      Effect.zipRight(pipeline.apologize(job.update).pipe(locally(CurrentDelivery, Option.none())))
    )
    return apology.pipe(
      Effect.zipRight(
        Option.match(breaker, {
          onNone: () => Effect.sleep(patience.patience),
          onSome: (b) => Effect.ignore(Effect.timeout(b.awaitUp, patience.patience))
        })
      ),
      Effect.zipRight(Effect.suspend(() => {
        restartPatience(patience)
        return turn(job, cell, patience, true)
      }))
    )
  }

  /** A failed run: interrupted (stays pending), the user blocked the bot (done), or the apology (failed). */
  const failed = (
    job: UpdateJob,
    cell: Delivery,
    patience: PatienceCell,
    startedAt: number,
    cause: Cause.Cause<PipelineError | DeadlineExceeded>,
    apologized: boolean
  ) => {
    if (Cause.isInterruptedOnly(cause)) return Effect.interrupt
    if (patience.gaveUp !== undefined && !cell.committed) return afterOutage(job, cell, patience, startedAt, apologized)
    const failure = Cause.failureOption(cause)
    if (Option.isSome(failure) && failure.value._tag === "RecipientBlocked") {
      return Effect.zipRight(
        report(startedAt, "blocked", Option.none(), LogLevel.Info, "update not answered: the user blocked the bot"),
        Effect.zipRight(settleMerged(job), markDone(job.updateId))
      )
    }
    const deadline = Option.isSome(failure) && failure.value._tag === "DeadlineExceeded"
    const reason = Option.isNone(failure)
      ? `defect: ${Cause.pretty(cause).split("\n")[0] ?? "unknown"}`
      : deadline
      ? "deadline exceeded"
      : `${failure.value._tag}: ${failure.value.message}`
    const line = `update failed, sending the apology: ${reason}`
    return report(startedAt, deadline ? "deadline" : "failed", Option.none(), LogLevel.Warning, line).pipe(
      Effect.zipRight(pipeline.apologize(job.update)),
      Effect.zipRight(settleMerged(job, reason)),
      Effect.zipRight(markFailed(job.updateId, reason))
    )
  }

  const turn = (job: UpdateJob, cell: Delivery, patience: PatienceCell, apologized = false): Effect.Effect<void> =>
    Effect.gen(function*() {
      const startedAt = yield* Clock.currentTimeMillis
      yield* updateMetric(updateQueueDuration, Duration.millis(Math.max(0, startedAt - job.queuedAt)))
      // Each attempt starts past the messages earlier attempts sent (a retry sends the reply
      // stored by the first attempt: its parts already out are not sent twice).
      const attempt = Effect.suspend(() => {
        restartDelivery(cell)
        return pipeline.handle(job.update)
      })
      const retried = attempt.pipe(
        retryLazily(
          countedStoreRetry("dispatcher_store").pipe(
            Schedule.whileInput((e: { readonly _tag: string }) => e._tag === "StoreError" && patience.gaveUp === undefined)
          )
        )
      )
      return yield* withDeadline(retried, config.updateDeadline, cell, patience).pipe(
        Effect.matchCauseEffect({
          // Done first, then reported: the shorter the time between the answer going out and
          // its entry marked done, the fewer answers a crash makes the next start send again.
          onSuccess: (outcome) => {
            const label = outcomeLabel(outcome, patience)
            return Effect.zipRight(
              Effect.zipRight(settleMerged(job), markDone(job.updateId, outcomeNote(label, patience, apologized))),
              report(
                startedAt,
                label,
                outcome._tag === "Answered" ? Option.some(outcome.stage) : Option.none(),
                LogLevel.Info,
                `update ${describe(outcome)}`
              )
            )
          },
          onFailure: (cause) => failed(job, cell, patience, startedAt, cause, apologized)
        })
      )
    })

  const handle = (job: UpdateJob, cell: Delivery, patience: PatienceCell): Effect.Effect<void> =>
    countedWhile(dialogsInFlight)(turn(job, cell, patience))

  /** The notice of a flood, sent in the chat's order; the dropped update is settled either way. */
  const notifyFlood = (job: UpdateJob): Effect.Effect<void> =>
    Option.match(Option.all({ message: dialogMessage(job.update), notices }), {
      onNone: () => Effect.void,
      onSome: ({ message, notices: { messenger, profile } }) =>
        messenger.reply(destinationOf(message), textsIn(profile, updateLanguage(job.update)).tooFast).pipe(
          Effect.timeout(config.updateDeadline),
          Effect.catchAll((e) => Effect.logWarning(`flood notice not sent: ${e._tag}`))
        )
    }).pipe(Effect.zipRight(markDone(job.updateId, floodNote)))

  const run = (job: UpdateJob): Effect.Effect<void> => {
    const chatId = updateChatId(job.update)
    const chatTag = Option.isSome(chatId) ? { chat_id: chatId.value } : {}
    const merged = job.merged ?? []
    const mergedTag = merged.length === 0 ? {} : { merged: merged.map((p) => p.updateId).join(",") }
    // One delivery cell for everything the update sends (its answer, the apology or the flood
    // notice): the messenger skips what an earlier run delivered and records what goes out.
    const cell = makeDelivery(job.deliveredBefore)
    cell.fresh = job.fresh === true
    // The turn's patience with dependencies that are down (`effect/Breaker.ts`).
    const patience = makePatience(config.outagePatience)
    const processing = (job.flooded ? notifyFlood(job) : handle(job, cell, patience)).pipe(
      locallyAll([
        localValue(CurrentDelivery, Option.some(cell)),
        localValue(CurrentPatience, patience),
        localValue(CurrentUpdateId, Option.some(job.updateId)),
        localValue(CurrentMergedParts, merged),
        localAnnotations({ update_id: job.updateId, ...chatTag, ...mergedTag })
      ]),
      withSpan("dispatcher.update", {
        attributes: { update_id: job.updateId, ...chatTag, ...mergedTag },
        // A recovered update has no intake span: its processing starts a trace of its own.
        root: Option.isNone(job.intake)
      })
    )
    // The queue's worker was forked by some earlier intake: each update continues its own trace.
    return Option.match(job.intake, { onNone: () => processing, onSome: (span) => Effect.withParentSpan(processing, span) })
  }

  return UpdateRunner.of({ run, markDone, markFailed })
})

/** The update runner over the bot's inbox, pipeline and (when present) messenger and profile. */
export const UpdateRunnerLive = Layer.effect(UpdateRunner, makeUpdateRunner)
