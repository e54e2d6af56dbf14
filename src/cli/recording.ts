/**
 * Recording of incoming updates, the building blocks of `--record FILE` and `--redact`:
 *
 * - `UpdateRecorder`: an append-only JSONL file, one Telegram Update JSON per line — exactly
 *   the format `replay` reads. The file is opened once (append mode) for the life of the
 *   scope; lines written by many fibers at once never interleave.
 * - `redactUpdate`: a pure function that removes personal data from an update while keeping
 *   its ids, its structure and the text of its messages, so that a recording can be shared
 *   and still replays the same dialog.
 *
 * ## The redaction rule
 *
 * The update is walked as JSON. Every number, boolean and null is kept (ids, dates, offsets,
 * message ids stay exact), except the coordinates below. Every key is kept. A string is kept
 * unless its key is listed here; a replaced string becomes `[<key>]`, e.g. `"[first_name]"`:
 *
 * - names and handles anywhere: `first_name`, `last_name`, `username`, `usernames`, `name`,
 *   `sender_user_name` (a forward from a hidden user), `author_signature`;
 * - phone numbers and contact cards anywhere: `phone_number`, `vcard`, `email`;
 * - free text about a person or written outside a message: `bio`, `description`, `query`
 *   (inline queries), `address` and the shipping address lines (`street_line1`,
 *   `street_line2`, `city`, `state`, `post_code`), `file_name`;
 * - `title` of a private or basic-group chat (titles of supergroups and channels, which are
 *   public, are kept), and `title` of a venue;
 * - inside a `poll` object: `question`, `explanation` and the `text` of its options;
 * - coordinates: `latitude` and `longitude` become `0`.
 *
 * Kept on purpose: the `text` and `caption` of messages (quoted ones too) — the dialog is what
 * a recording is for, so whatever a user typed into a message stays as typed — callback
 * `data` (written by the bot, not the user), file ids, language codes, chat types.
 * A value under a listed key that is an object or an array is walked, not replaced, so the
 * structure stays whole; any other value under a listed key (a number given as a phone) is
 * replaced by the placeholder.
 */
import { FileSystem } from "@effect/platform"
import { Context, Effect, Layer, Schema } from "effect"

/** A value could not be recorded: not JSON, or the file could not be opened or written. */
export class RecordingError extends Schema.TaggedError<RecordingError>()("RecordingError", {
  file: Schema.String,
  message: Schema.String
}) {}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }

const alwaysRedacted = new Set([
  "first_name",
  "last_name",
  "username",
  "usernames",
  "name",
  "sender_user_name",
  "author_signature",
  "phone_number",
  "vcard",
  "email",
  "bio",
  "description",
  "query",
  "address",
  "street_line1",
  "street_line2",
  "city",
  "state",
  "post_code",
  "file_name"
])
const pollRedacted = new Set(["question", "explanation", "text"])
const coordinates = new Set(["latitude", "longitude"])
const privateChatTypes = new Set(["private", "group"])

const placeholder = (key: string) => `[${key}]`

const isRecord = (value: unknown): value is { readonly [key: string]: unknown } =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const redactValue = (value: unknown, key: string | undefined, inPoll: boolean, redactTitle: boolean): unknown => {
  if (Array.isArray(value)) return value.map((item) => redactValue(item, key, inPoll, redactTitle))
  if (isRecord(value)) return redactObject(value, inPoll || key === "poll", key === "venue")
  if (key === undefined) return value
  if (coordinates.has(key) && typeof value === "number") return 0
  if (alwaysRedacted.has(key) || (inPoll && pollRedacted.has(key)) || (redactTitle && key === "title")) {
    return value === null ? null : placeholder(key)
  }
  return value
}

const redactObject = (value: { readonly [key: string]: unknown }, inPoll: boolean, isVenue: boolean) => {
  const isPersonalChat = typeof value.id === "number" && typeof value.type === "string" &&
    privateChatTypes.has(value.type)
  const redactTitle = isVenue || isPersonalChat
  const out: Record<string, unknown> = {}
  for (const [key, field] of Object.entries(value)) {
    // Options of a poll are objects under `options`: their `text` is redacted by `inPoll`.
    out[key] = redactValue(field, key, inPoll, redactTitle)
  }
  return out
}

/**
 * The update with personal data replaced by placeholders (see the module comment for the
 * exact rule). Pure: the input is not changed. Works on any JSON value.
 */
export const redactUpdate = (update: unknown): unknown => redactValue(update, undefined, false, false)

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
