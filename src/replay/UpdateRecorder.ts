/**
 * Recording of incoming updates, the building block of `--record FILE` (and `--redact`, see
 * `Redaction.ts`): `UpdateRecorder` appends to a JSONL file, one Telegram Update JSON per
 * line — exactly the format `replay` reads. The file is opened once (append mode) for the
 * life of the scope; lines written by many fibers at once never interleave.
 */
import { FileSystem } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"
import { redactUpdate } from "./Redaction.ts"

/** A value could not be recorded: not JSON, or the file could not be opened or written. */
export class RecordingError extends Schema.TaggedError<RecordingError>()("RecordingError", {
  file: Schema.String,
  message: Schema.String
}) {}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

/** `redactUpdate` on JSON text; the result is one line of JSON. */
export const redactUpdateJson = (json: string): Effect.Effect<string, RecordingError> =>
  Effect.map(parseJson(json, "(redaction)"), (value) => JSON.stringify(redactUpdate(value)))

const parseJson = (json: string, file: string) =>
  Effect.try({
    try: () => JSON.parse(json) as Json,
    catch: (error) =>
      new RecordingError({
        file,
        message: `not JSON (${error instanceof Error ? error.message : String(error)}): ${json.slice(0, 120)}`
      })
  })

/**
 * One recorded line for an update given as JSON text or as a value. JSON text that is not
 * redacted is written as it came (ids of any size stay byte for byte), only its line breaks
 * — which valid JSON has only between tokens — become spaces.
 */
export const recordedLine = (
  update: unknown,
  options: { readonly redact: boolean; readonly file?: string }
): Effect.Effect<string, RecordingError> => {
  const file = options.file ?? "(recording)"
  if (typeof update === "string") {
    return Effect.flatMap(parseJson(update, file), (value) =>
      Effect.succeed(options.redact ? JSON.stringify(redactUpdate(value)) : update.replace(/[\r\n]+/g, " ").trim()))
  }
  return Effect.try({
    try: () => JSON.stringify(options.redact ? redactUpdate(update) : update),
    catch: (error) => new RecordingError({ file, message: `cannot write the update as JSON: ${String(error)}` })
  }).pipe(
    Effect.flatMap((line) =>
      typeof line === "string"
        ? Effect.succeed(line)
        : Effect.fail(new RecordingError({ file, message: "the update has no JSON form" }))
    )
  )
}

export interface UpdateRecorderService {
  /** The file lines go to; undefined when recording is off. */
  readonly file: string | undefined
  /**
   * Appends one update (JSON text as received, or a value) as one line. Safe to call from many
   * fibers at once: each line is written whole, in the order the calls get the file.
   */
  readonly record: (update: unknown) => Effect.Effect<void, RecordingError>
}

/** Where incoming updates are recorded, if anywhere. */
export class UpdateRecorder extends Context.Tag("dialog-bot/UpdateRecorder")<UpdateRecorder, UpdateRecorderService>() {}

export interface UpdateRecorderOptions {
  readonly file: string
  /** Apply `redactUpdate` to each update before it is written. */
  readonly redact: boolean
}

/** A recorder appending to `file` (created if missing, never truncated), open for the life of the scope. */
export const makeUpdateRecorder = (options: UpdateRecorderOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const handle = yield* fs.open(options.file, { flag: "a" }).pipe(
      Effect.mapError((error) => new RecordingError({ file: options.file, message: `cannot open: ${error.message}` }))
    )
    const lock = yield* Effect.makeSemaphore(1)
    const encoder = new TextEncoder()
    const write = (line: string) =>
      lock.withPermits(1)(
        Effect.uninterruptible(handle.writeAll(encoder.encode(`${line}\n`)))
      ).pipe(
        Effect.mapError((error) => new RecordingError({ file: options.file, message: `cannot write: ${error.message}` }))
      )
    return UpdateRecorder.of({
      file: options.file,
      record: (update) =>
        recordedLine(update, { redact: options.redact, file: options.file }).pipe(
          Effect.flatMap(write),
          Effect.withSpan("recording.record")
        )
    })
  })

/** Records to a file for the life of the layer. */
export const UpdateRecorderFile = (options: UpdateRecorderOptions) =>
  Layer.scoped(UpdateRecorder, makeUpdateRecorder(options))

/** Recording off: `record` does nothing. */
export const UpdateRecorderOff = Layer.succeed(
  UpdateRecorder,
  UpdateRecorder.of({ file: undefined, record: () => Effect.void })
)
