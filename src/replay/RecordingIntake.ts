/**
 * Recording in front of the dispatcher: the intake records every update it is handed before
 * passing it on, so the webhook and the poller record the same way (`--record FILE`).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Layer } from "effect"
import { Intake } from "../telegram/Intake.ts"
import { UpdateRecorder, UpdateRecorderFile, type UpdateRecorderOptions } from "./UpdateRecorder.ts"

/** The intake with every update it is handed recorded first; a failed write is logged, never fatal. */
const RecordingIntake = Layer.effect(
  Intake,
  Effect.gen(function*() {
    const intake = yield* Intake
    const recorder = yield* UpdateRecorder
    return Intake.of({
      ...intake,
      submit: (received) =>
        recorder.record(received.json).pipe(
          Effect.catchAll((e) => Effect.logWarning(`update not recorded: ${e.message}`)),
          Effect.zipRight(intake.submit(received))
        )
    })
  })
)

/** A bot whose intake records every update it is handed to the file of `options`. */
export const withUpdateRecording = (options: UpdateRecorderOptions) =>
<A, E, R>(bot: Layer.Layer<A | Intake, E, R>) =>
  Layer.provideMerge(RecordingIntake, Layer.merge(bot, UpdateRecorderFile(options).pipe(Layer.provide(NodeContext.layer))))
