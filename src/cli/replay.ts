/**
 * Replay of recorded updates (one JSON update per line) through the dispatcher and the whole
 * pipeline, with the bot's messages recorded instead of sent. Prints the transcript grouped
 * per chat and can write every bot message as one JSON line.
 *
 * Replay is also a regression check: given a stored transcript (the `--out` format), it
 * compares the bot's replies with it, update by update, and fails with `ReplayMismatch`
 * listing every difference. `exact` compares the texts; `shape` only how many replies each
 * update got, for models whose wording varies from run to run. Time is the one input of the
 * offline model that changes between runs (`get_current_time`): `withFixedClock` pins effect's
 * `Clock` to one instant so that a replay gives the same transcript every time.
 */
import { FileSystem } from "@effect/platform"
import { Clock, Console, Duration, Effect, Fiber, Option, ParseResult, Schedule, Schema } from "effect"
import { ConfigurationError } from "../domain/errors.ts"
import { Update, updateChatId, updateKind } from "../domain/Update.ts"
import { Dispatcher } from "../runtime/Dispatcher.ts"
import { type SentRecord, TelegramRecorder } from "../telegram/TelegramRecorder.ts"

export interface ParsedLine {
  readonly line: number
  readonly json: string
  readonly update: Update
}

export interface BadLine {
  readonly line: number
  readonly message: string
}

const decodeLine = Schema.decodeUnknownEither(Schema.parseJson(Update), { onExcessProperty: "ignore" })

/** Splits a JSONL text into decoded updates and the lines that are not updates (1-based numbers). */
export const parseUpdates = (text: string) => {
  const updates: Array<ParsedLine> = []
  const bad: Array<BadLine> = []
  text.split(/\r?\n/).forEach((raw, index) => {
    const json = raw.trim()
    if (json === "") return
    const decoded = decodeLine(json)
    if (decoded._tag === "Right") updates.push({ line: index + 1, json, update: decoded.right })
    else bad.push({ line: index + 1, message: ParseResult.TreeFormatter.formatErrorSync(decoded.left).split("\n").slice(0, 3).join(" ") })
  })
  return { updates, bad }
}

/** One bot message of a transcript, in the `--out` format. */
export interface TranscriptLine {
  readonly update_id: number | null
  readonly chat_id: number
  readonly text: string
}

export const transcriptLines = (sent: ReadonlyArray<SentRecord>): ReadonlyArray<TranscriptLine> =>
  sent.map((m) => ({ update_id: Option.getOrNull(m.updateId), chat_id: m.chatId, text: m.text }))

export const TranscriptLineSchema = Schema.Struct({
  update_id: Schema.NullOr(Schema.Number.pipe(Schema.int())),
  chat_id: Schema.Number.pipe(Schema.int()),
  text: Schema.String
})

/** A stored transcript could not be read or has a line that is not a transcript line. */
export class TranscriptFileError extends Schema.TaggedError<TranscriptFileError>()("TranscriptFileError", {
  file: Schema.String,
  line: Schema.optional(Schema.Number),
  reason: Schema.String
}) {
  override get message(): string {
    return `${this.file}${this.line === undefined ? "" : `:${this.line}`}: ${this.reason}`
  }
}

const decodeTranscriptLine = Schema.decodeUnknownEither(Schema.parseJson(TranscriptLineSchema), {
  onExcessProperty: "ignore"
})

/** Parses a transcript in the `--out` format; a line that is not one fails with its number. */
export const parseTranscript = (
  text: string,
  file: string
): Effect.Effect<ReadonlyArray<TranscriptLine>, TranscriptFileError> =>
  Effect.suspend(() => {
    const lines: Array<TranscriptLine> = []
    const rows = text.split(/\r?\n/)
    for (let index = 0; index < rows.length; index++) {
      const json = rows[index]!.trim()
      if (json === "") continue
      const decoded = decodeTranscriptLine(json)
      if (decoded._tag === "Left") {
        return Effect.fail(
          new TranscriptFileError({
            file,
            line: index + 1,
            reason: `not a transcript line {"update_id","chat_id","text"}: ${
              ParseResult.TreeFormatter.formatErrorSync(decoded.left).split("\n").slice(0, 3).join(" ")
            }`
          })
        )
      }
      lines.push(decoded.right)
    }
    return Effect.succeed(lines)
  })

/** Reads a stored transcript file. */
export const readTranscript = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => new TranscriptFileError({ file, reason: `cannot read: ${e.message}` }))
    )
    return yield* parseTranscript(text, file)
  })

/** `exact`: the same texts in the same order per update; `shape`: the same number of replies per update. */
export type ExpectMode = "exact" | "shape"

/** How the replies to one update differ from the stored ones. */
export interface TranscriptDifference {
  readonly updateId: number | null
  readonly chatId: number
  /** `changed`: both have replies that differ; `missing`: stored replies, none now; `extra`: replies now, none stored. */
  readonly kind: "changed" | "missing" | "extra"
  readonly expected: ReadonlyArray<string>
  readonly actual: ReadonlyArray<string>
}

const groupKey = (line: TranscriptLine) => `${line.update_id ?? "none"}/${line.chat_id}`

const groupByUpdate = (lines: ReadonlyArray<TranscriptLine>) => {
  const groups = new Map<string, { updateId: number | null; chatId: number; texts: Array<string> }>()
  for (const line of lines) {
    const key = groupKey(line)
    const group = groups.get(key) ?? { updateId: line.update_id, chatId: line.chat_id, texts: [] }
    group.texts.push(line.text)
    groups.set(key, group)
  }
  return groups
}

/**
 * Compares two transcripts update by update (the replies to one update, in their order; updates
 * of different chats may interleave differently from run to run, so their relative order is not
 * compared). Differences come in the order of the stored transcript, then the extra updates.
 */
export const compareTranscripts = (
  expected: ReadonlyArray<TranscriptLine>,
  actual: ReadonlyArray<TranscriptLine>,
  mode: ExpectMode
): ReadonlyArray<TranscriptDifference> => {
  const want = groupByUpdate(expected)
  const got = groupByUpdate(actual)
  const differences: Array<TranscriptDifference> = []
  for (const [key, group] of want) {
    const other = got.get(key)
    if (other === undefined) {
      differences.push({ updateId: group.updateId, chatId: group.chatId, kind: "missing", expected: group.texts, actual: [] })
      continue
    }
    const same = mode === "shape"
      ? other.texts.length === group.texts.length
      : other.texts.length === group.texts.length && other.texts.every((t, i) => t === group.texts[i])
    if (!same) {
      differences.push({ updateId: group.updateId, chatId: group.chatId, kind: "changed", expected: group.texts, actual: other.texts })
    }
  }
  for (const [key, group] of got) {
    if (!want.has(key)) {
      differences.push({ updateId: group.updateId, chatId: group.chatId, kind: "extra", expected: [], actual: group.texts })
    }
  }
  return differences
}

const indent = (text: string, prefix: string) =>
  text.split("\n").map((line, i) => (i === 0 || line === "" ? line : `${" ".repeat(prefix.length)}${line}`)).join("\n")

const replies = (label: string, texts: ReadonlyArray<string>, mode: ExpectMode) => {
  if (texts.length === 0) return [`    ${label}: (no reply)`]
  if (mode === "shape") return [`    ${label}: ${texts.length} ${texts.length === 1 ? "reply" : "replies"}`]
  return texts.map((t, i) => {
    const prefix = `    ${label}${texts.length > 1 ? ` ${i + 1}` : ""}: `
    return `${prefix}${indent(t, prefix)}`
  })
}

/** The differences as a readable listing: one block per update, expected then actual. */
export const renderDifferences = (
  differences: ReadonlyArray<TranscriptDifference>,
  mode: ExpectMode
): string => {
  if (differences.length === 0) return "replies match the expected transcript"
  const blocks = differences.map((d) => {
    const head = `update ${d.updateId ?? "(none)"} in chat ${d.chatId}: ${
      d.kind === "missing"
        ? "missing (expected replies, got none)"
        : d.kind === "extra"
        ? "extra (replies not in the expected transcript)"
        : mode === "shape"
        ? "a different number of replies"
        : "different replies"
    }`
    return [head, ...replies("expected", d.expected, mode), ...replies("actual  ", d.actual, mode)].join("\n")
  })
  const header = `${differences.length} ${
    differences.length === 1 ? "update differs" : "updates differ"
  } from the expected transcript (${mode}):`
  return [header, ...blocks].join("\n\n")
}

/** The bot's replies differ from the stored transcript; `report` is the readable diff. */
export class ReplayMismatch extends Schema.TaggedError<ReplayMismatch>()("ReplayMismatch", {
  expectFile: Schema.String,
  mode: Schema.Literal("exact", "shape"),
  differences: Schema.Number,
  report: Schema.String
}) {
  override get message(): string {
    return `replies differ from ${this.expectFile} in ${this.differences} update(s)`
  }
}

/**
 * A clock that always reads `millis` and sleeps on `base`, so timeouts and deadlines still work
 * while every reading of the time gives the same instant.
 */
export const fixedClock = (millis: number, base: Clock.Clock): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => millis,
  currentTimeMillis: Effect.succeed(millis),
  unsafeCurrentTimeNanos: () => BigInt(millis) * 1_000_000n,
  currentTimeNanos: Effect.succeed(BigInt(millis) * 1_000_000n),
  sleep: (duration) => base.sleep(duration)
})

/** Runs an effect — and every fiber it starts — with the time fixed at `millis`. */
export const withFixedClock = (millis: number) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.clockWith((base) => Effect.withClock(effect, fixedClock(millis, base)))

/** Parses the `--clock` / `REPLAY_CLOCK` value: an ISO 8601 date-time. */
export const parseClock = (value: string, source = "--clock"): Effect.Effect<number, ConfigurationError> => {
  const trimmed = value.trim()
  const millis = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed) ? Date.parse(trimmed) : Number.NaN
  return Number.isNaN(millis)
    ? Effect.fail(
      new ConfigurationError({ source, message: `expected an ISO 8601 date-time such as 2026-01-15T10:00:00Z, got "${value}"` })
    )
    : Effect.succeed(millis)
}

const describeInput = (update: Update): string => {
  const message = update.message ?? update.edited_message ?? update.channel_post ?? update.business_message
  if (message) {
    const who = message.from?.first_name ?? message.chat.title ?? "?"
    const edited = update.edited_message ? " (edited)" : ""
    const text = message.text ?? message.caption
    const media = text === undefined ? "[media]" : message.caption !== undefined ? `[media] ${text}` : text
    return `👤 ${who}${edited}: ${media.length > 300 ? `${media.slice(0, 300)}…` : media}`
  }
  return `· ${updateKind(update)}`
}

/** The transcript as text: per chat in order of first appearance, each input followed by its replies. */
export const renderTranscript = (updates: ReadonlyArray<ParsedLine>, sent: ReadonlyArray<SentRecord>): string => {
  const repliesByUpdate = new Map<number, Array<string>>()
  for (const m of sent) {
    if (Option.isSome(m.updateId)) {
      const list = repliesByUpdate.get(m.updateId.value) ?? []
      list.push(m.text)
      repliesByUpdate.set(m.updateId.value, list)
    }
  }
  const chats = new Map<string, Array<string>>()
  const seen = new Set<number>()
  for (const { update } of updates) {
    if (seen.has(update.update_id)) continue
    seen.add(update.update_id)
    const chat = Option.match(updateChatId(update), { onNone: () => "no chat", onSome: (id) => `chat ${id}` })
    const lines = chats.get(chat) ?? []
    lines.push(describeInput(update))
    for (const reply of repliesByUpdate.get(update.update_id) ?? []) {
      lines.push(...`🤖 ${reply}`.split("\n").map((l, i) => (i === 0 ? l : `   ${l}`)))
    }
    chats.set(chat, lines)
  }
  return [...chats].map(([chat, lines]) => [`── ${chat} ──`, ...lines].join("\n")).join("\n\n")
}

export interface ReplayOptions {
  readonly file: string
  readonly out: Option.Option<string>
  /** Print the transcript to stdout (the CLI does; tests may not). */
  readonly print: boolean
  /** A stored transcript the replies must match; a difference fails with `ReplayMismatch`. */
  readonly expect?: Option.Option<string>
  readonly expectMode?: ExpectMode
}

export interface ReplayResult {
  readonly updates: number
  readonly badLines: number
  readonly sent: ReadonlyArray<TranscriptLine>
}

export const replay = (options: ReplayOptions) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const dispatcher = yield* Dispatcher
    const recorder = yield* TelegramRecorder
    const expectFile = options.expect ?? Option.none()
    // Read the stored transcript first: a broken one fails before any work is done.
    const expected = Option.isSome(expectFile) ? Option.some(yield* readTranscript(expectFile.value)) : Option.none()
    const text = yield* fs.readFileString(options.file)
    const { bad, updates } = parseUpdates(text)
    for (const b of bad) yield* Console.error(`${options.file}:${b.line}: skipped, not an update: ${b.message}`)

    const progress = yield* Effect.fork(
      Effect.repeat(
        Effect.flatMap(dispatcher.outstanding, (n) => Console.error(`replay: ${n} of ${updates.length} updates still in progress`)),
        Schedule.spaced(Duration.seconds(2))
      ).pipe(Effect.delay(Duration.seconds(2)))
    )
    for (const { json, update } of updates) {
      yield* dispatcher.submit({ json, update })
    }
    yield* dispatcher.awaitIdle
    yield* Fiber.interrupt(progress)

    const sent = yield* recorder.sent
    const lines = transcriptLines(sent)
    if (options.print) yield* Console.log(renderTranscript(updates, sent))
    if (Option.isSome(options.out)) {
      yield* fs.writeFileString(options.out.value, lines.map((l) => JSON.stringify(l)).join("\n") + (lines.length > 0 ? "\n" : ""))
    }
    if (Option.isSome(expectFile) && Option.isSome(expected)) {
      const mode = options.expectMode ?? "exact"
      const differences = compareTranscripts(expected.value, lines, mode)
      if (differences.length > 0) {
        return yield* Effect.fail(
          new ReplayMismatch({
            expectFile: expectFile.value,
            mode,
            differences: differences.length,
            report: renderDifferences(differences, mode)
          })
        )
      }
    }
    return { updates: updates.length, badLines: bad.length, sent: lines } satisfies ReplayResult
  })
