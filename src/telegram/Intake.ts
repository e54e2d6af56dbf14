/**
 * Where the webhook and the poller hand updates over. They know only this interface; the
 * runtime provides it (the in-process dispatcher today, a distributed queue later), so the
 * Telegram edge never depends on what runs the dialogs.
 */
import { Context, type Effect, Schema } from "effect"
import type { RecordResult } from "../domain/Dialog.ts"
import type { StoreError } from "../domain/errors.ts"
import type { Update } from "../domain/Update.ts"

/** Intake has stopped: the process is shutting down. */
export class IntakeClosed extends Schema.TaggedError<IntakeClosed>()("IntakeClosed", {}) {}

/** An update as received: its JSON is kept so the inbox stores it as it came. */
export interface ReceivedUpdate {
  readonly json: string
  readonly update: Update
}

export interface IntakeService {
  /**
   * Records and schedules an update; returns once the record is durable (`Duplicate`, and
   * nothing scheduled, when it was seen before), so the caller can acknowledge it.
   */
  readonly submit: (received: ReceivedUpdate) => Effect.Effect<RecordResult, StoreError | IntakeClosed>
  /** Updates queued or running right now. */
  readonly outstanding: Effect.Effect<number>
  /** After `shutdown`, the updates left pending when the queue counts them otherwise than `outstanding` (the cluster's shared inbox). */
  readonly leftPending?: Effect.Effect<number>
  /** Stops intake, waits for the dialogs in flight until the shutdown deadline, interrupts the rest. */
  readonly shutdown: Effect.Effect<void>
  /** Whether `shutdown` has begun: intake is closed (the readiness probe says so). */
  readonly draining: Effect.Effect<boolean>
}

export class Intake extends Context.Tag("dialog-bot/Intake")<Intake, IntakeService>() {}
