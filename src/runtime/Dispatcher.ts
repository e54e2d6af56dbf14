/**
 * The dispatcher: the bot's intake, composed of three parts.
 *
 * `submit` records an update in the inbox (dedupe by update_id), passes it through flood
 * protection (`FloodGate`) and queues it in its chat's queue (`ChatQueue`); it returns as soon
 * as the record is durable, so the webhook can acknowledge before any dialog work. The queue
 * runs one chat strictly in order and chats in parallel under a global limit, handing each
 * update to `UpdateRunner` (deadline, store retries, apology, finish). On start, every pending
 * inbox entry (an update acknowledged before a crash) is queued again; on shutdown intake
 * stops and the dialogs in flight drain until a deadline, after which they are interrupted and
 * stay pending.
 */
import { Clock, Context, Effect, FiberRef, Layer, Option, Schema, type Tracer } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { type TelegramId, updateChatId, updateKind } from "../domain/Update.ts"
import { updateMetric, updatesDeduplicated, updatesFlooded, updatesReceived, withTags } from "../observability/Metrics.ts"
import { Inbox } from "../store/Inbox.ts"
import { Intake, IntakeClosed, type IntakeService } from "../telegram/Intake.ts"
import { ChatQueue, ChatQueueInProcess, chatKey, floodSender } from "./ChatQueue.ts"
import { DispatcherConfig } from "./DispatcherConfig.ts"
import { makeFloodGate } from "./FloodGate.ts"
import { floodNote, UpdateRunner, UpdateRunnerLive } from "./UpdateRunner.ts"
import { annotateSpan, currentSpanOption } from "../observability/span.ts"
import { annotateLogs } from "../effect/locallyAll.ts"

export interface DispatcherService extends IntakeService {
  /** Queues every pending inbox entry again; returns how many. Done once when the layer starts. */
  readonly recover: Effect.Effect<number, StoreError>
  /** Completes when no update is queued or running. */
  readonly awaitIdle: Effect.Effect<void>
}

export class Dispatcher extends Context.Tag("dialog-bot/Dispatcher")<Dispatcher, DispatcherService>() {}

/**
 * Each update starts a trace of its own, whatever the caller's span (a webhook request, or a
 * poller whose loop is one long span shared by every update it receives): the intake span
 * links to the caller's span instead of being its child.
 */
const intakeSpan = (attributes: Record<string, unknown>) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.flatMap(FiberRef.get(FiberRef.currentTracerEnabled), (enabled) =>
    // With tracing off (no collector) no span is made: effect's spans cost even then.
    enabled
      ? Effect.flatMap(Effect.option(Effect.currentParentSpan), (caller) =>
        Effect.withSpan(effect, "update.intake", {
          kind: "consumer",
          root: true,
          attributes,
          links: Option.match(caller, {
            onNone: () => [],
            onSome: (span): ReadonlyArray<Tracer.SpanLink> => [{ _tag: "SpanLink", span, attributes: { received_in: "caller" } }]
          })
        }))
      : (effect as Effect.Effect<A, E, Exclude<R, Tracer.ParentSpan>>))

const decodeFields = Schema.decodeUnknownOption(Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown })))

/** The fields of an update's JSON other than `update_id` (the kinds of an update the schema does not know). */
const unknownKinds = (json: string): string =>
  Option.match(decodeFields(json), { onNone: () => "unreadable", onSome: (fields) => Object.keys(fields).filter((k) => k !== "update_id").join(",") })

/** The dispatcher over a `ChatQueue` and an `UpdateRunner`; recovers the inbox when it starts. */
export const makeDispatcher = Effect.gen(function*() {
  const config = yield* DispatcherConfig
  const inbox = yield* Inbox
  const queue = yield* ChatQueue
  const runner = yield* UpdateRunner
  const gate = makeFloodGate({
    burst: config.floodBurst,
    refill: config.floodRefill,
    noticeInterval: config.floodNoticeInterval
  })
  let closed = false
  const stillPending = (updateId: TelegramId) =>
    Effect.map(inbox.entry(updateId), (entry) => Option.isSome(entry) && entry.value.status === "pending")

  const submit: DispatcherService["submit"] = ({ json, update }) => {
    const chat = updateChatId(update)
    const kind = updateKind(update)
    const chatTag = chat._tag === "Some" ? { chat_id: chat.value } : {}
    return Effect.gen(function*() {
      // A kind of update newer than the bot: accepted (recorded, then skipped), its name logged.
      if (kind === "unknown") yield* Effect.logDebug(`an update of a kind the bot does not know: ${unknownKinds(json)}`)
      if (closed) return yield* Effect.fail(new IntakeClosed())
      const result = yield* inbox.record({
        updateId: update.update_id,
        chatId: chat._tag === "Some" ? chat.value : undefined,
        payload: json
      })
      // Counted once recorded: a delivery refused while the store is down comes again.
      yield* updateMetric(withTags(updatesReceived, { kind }), 1)
      yield* annotateSpan("duplicate", result !== "New")
      const stopped = update.stopped_message_generation
      if (result === "New" && stopped !== undefined) {
        // The Stop button: the conversation's running turn is stopped now, not queued behind it.
        // A stop that cannot reach its turn now is of no use later: it is not delivered again.
        const found = yield* queue.stop(chatKey(update), stopped).pipe(
          Effect.catchAll((e) => Effect.as(Effect.logWarning(`stop not passed on: ${e.message}`), false))
        )
        yield* Effect.logInfo(found ? "the user stopped the answer" : "stop for an answer no longer running, ignored")
        yield* runner.markDone(update.update_id, found ? "stopped the running turn" : "no running turn to stop")
      } else if (result === "New") {
        const intake = yield* currentSpanOption
        const now = yield* Clock.currentTimeMillis
        const sender = floodSender(update)
        // One bucket per user in each conversation: a busy group does not use up a user's private chat.
        // A queue that gates floods itself (the cluster's entities) judges them where the conversation runs.
        const admitted = Option.isSome(sender) && queue.gatesFloods !== true
          ? gate.admit(`${chatKey(update)}:user:${sender.value}`, now)
          : "Allowed"
        if (admitted !== "Allowed") {
          yield* updateMetric(updatesFlooded, 1)
          yield* Effect.logInfo(`update dropped by flood protection${admitted === "DroppedWithNotice" ? ", the user is told" : ""}`)
        }
        if (admitted === "Dropped") {
          yield* runner.markDone(update.update_id, floodNote)
        } else {
          yield* queue.submit({
            updateId: update.update_id,
            key: chatKey(update),
            update,
            flooded: admitted === "DroppedWithNotice",
            intake,
            queuedAt: now,
            deliveredBefore: 0,
            fresh: true
          })
        }
      } else if (queue.idempotent === true && (yield* stillPending(update.update_id))) {
        // Recorded before, not queued for sure (a submit that failed): queued again, run once.
        yield* queue.submit({
          updateId: update.update_id,
          key: chatKey(update),
          update,
          flooded: false,
          intake: yield* currentSpanOption,
          queuedAt: yield* Clock.currentTimeMillis,
          deliveredBefore: 0
        })
      } else {
        yield* updateMetric(updatesDeduplicated, 1)
        yield* Effect.logDebug("duplicate update ignored")
      }
      return result
    }).pipe(
      annotateLogs({ update_id: update.update_id, ...chatTag }),
      intakeSpan({ update_id: update.update_id, kind, ...chatTag })
    )
  }

  // Intake closes first; the queue then drains until the deadline (once, however often called).
  const shutdown = Effect.suspend(() => {
    closed = true
    return queue.shutdown
  })

  yield* Effect.addFinalizer(() => shutdown)
  yield* queue.recover

  return Dispatcher.of({
    submit,
    recover: queue.recover,
    awaitIdle: queue.awaitIdle,
    outstanding: queue.outstanding,
    ...(queue.leftPending === undefined ? {} : { leftPending: queue.leftPending }),
    shutdown,
    draining: Effect.sync(() => closed)
  })
})

/**
 * The dispatcher over `queue` (the chats' queues: in process, or another implementation),
 * also provided as the `Intake` the webhook and the poller hand updates to.
 */
export const DispatcherWithQueue = <E, R>(queue: Layer.Layer<ChatQueue, E, R | UpdateRunner>) =>
  Layer.scopedContext(
    Effect.map(makeDispatcher, (dispatcher) => Context.make(Dispatcher, dispatcher).pipe(Context.add(Intake, dispatcher)))
  ).pipe(Layer.provide(Layer.provideMerge(queue, UpdateRunnerLive)))

/** The dispatcher with the chats' queues in this process, also provided as the `Intake`. */
export const DispatcherLive = DispatcherWithQueue(ChatQueueInProcess)
