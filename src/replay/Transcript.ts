/**
 * Transcripts: the bot's messages of a replay, one JSON line `{update_id, chat_id, text}` per
 * message (the `replay --out` format), and the regression check against a stored one.
 *
 * `compareTranscripts` compares the bot's replies with a stored transcript update by update;
 * `exact` compares the texts, `shape` only how many replies each update got, for models whose
 * wording varies from run to run. `renderDifferences` turns the differences into the listing
 * `ReplayMismatch` carries, with what changed within a reply marked (`[-old-]{+new+}`).
 */
import { FileSystem } from "@effect/platform"
import { Effect, Option, ParseResult, Schema } from "effect"
import type { SentRecord } from "../telegram/TelegramRecorder.ts"

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

/** One thing wrong with a stored transcript: where (its line, when it is about one) and what. */
export const TranscriptProblem = Schema.Struct({
  line: Schema.optional(Schema.Number),
  reason: Schema.String
})

/** A stored transcript could not be read or has lines that are not transcript lines (each a problem). */
export class TranscriptFileError extends Schema.TaggedError<TranscriptFileError>()("TranscriptFileError", {
  file: Schema.String,
  problems: Schema.NonEmptyArray(TranscriptProblem)
}) {
  /** One line per problem: `file:line: what is wrong`. */
  override get message(): string {
    return this.problems.map((p) => `${this.file}${p.line === undefined ? "" : `:${p.line}`}: ${p.reason}`).join("\n")
  }
}

const decodeTranscriptLine = Schema.decodeUnknownEither(Schema.parseJson(TranscriptLineSchema), {
  onExcessProperty: "ignore",
  errors: "all"
})

/** How many problems of a broken transcript are listed; the rest are counted. */
const problemsShown = 10

/** What is wrong with one line, in one line: the field and the problem, or that it is not JSON. */
const lineProblem = (error: ParseResult.ParseError): string => {
  // The first issue of each field: `update_id` is a number or null, but one problem is enough.
  const byField = new Map<string, string>()
  for (const { message, path } of ParseResult.ArrayFormatter.formatErrorSync(error)) {
    const field = path.join(".")
    if (!byField.has(field)) byField.set(field, message.split("\n")[0] ?? message)
  }
  const said = [...byField].map(([field, message]) => field === "" ? `not JSON (${message})` : `${field}: ${message}`)
  return `not a transcript line {"update_id","chat_id","text"}: ${said.join("; ")}`
}

/** Parses a transcript in the `--out` format; every line that is not one is a problem with its number. */
export const parseTranscript = (
  text: string,
  file: string
): Effect.Effect<ReadonlyArray<TranscriptLine>, TranscriptFileError> =>
  Effect.suspend(() => {
    const lines: Array<TranscriptLine> = []
    const problems: Array<typeof TranscriptProblem.Type> = []
    const rows = text.split(/\r?\n/)
    for (let index = 0; index < rows.length; index++) {
      const json = rows[index]!.trim()
      if (json === "") continue
      const decoded = decodeTranscriptLine(json)
      if (decoded._tag === "Left") problems.push({ line: index + 1, reason: lineProblem(decoded.left) })
      else lines.push(decoded.right)
    }
    if (problems.length === 0) return Effect.succeed(lines)
    const shown = problems.slice(0, problemsShown)
    const more = problems.length - shown.length
    const listed = more === 0 ? shown : [...shown, { reason: `and ${more} more ${more === 1 ? "line" : "lines"} like these` }]
    return Effect.fail(new TranscriptFileError({ file, problems: [listed[0]!, ...listed.slice(1)] }))
  })

/** Reads a stored transcript file. */
export const readTranscript = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const text = yield* fs.readFileString(file).pipe(
      Effect.mapError((e) => new TranscriptFileError({ file, problems: [{ reason: `cannot read: ${e.message}` }] }))
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

const wordCharacter = /[\p{L}\p{N}_]/u

/**
 * Two replies with what changed marked in each: the part between their common beginning and
 * end (widened to whole words) as `[-removed-]` in the expected one and `{+added+}` in the
 * actual one, as `git diff --word-diff` shows it.
 */
export const markChange = (expected: string, actual: string): { readonly expected: string; readonly actual: string } => {
  const isWord = (c: string | undefined) => c !== undefined && wordCharacter.test(c)
  const limit = Math.min(expected.length, actual.length)
  let start = 0
  while (start < limit && expected[start] === actual[start]) start++
  // A change that begins or ends inside a word takes the whole word.
  while (start > 0 && isWord(expected[start - 1]) && (isWord(expected[start]) || isWord(actual[start]))) start--
  let end = 0
  while (end < limit - start && expected[expected.length - 1 - end] === actual[actual.length - 1 - end]) end++
  while (
    end > 0 && isWord(expected[expected.length - end]) &&
    (isWord(expected[expected.length - end - 1]) || isWord(actual[actual.length - end - 1]))
  ) end--
  const mark = (text: string, open: string, close: string) => {
    const middle = text.slice(start, text.length - end)
    return `${text.slice(0, start)}${middle === "" ? "" : `${open}${middle}${close}`}${text.slice(text.length - end)}`
  }
  return { expected: mark(expected, "[-", "-]"), actual: mark(actual, "{+", "+}") }
}

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
    // Replies at the same place that differ show what changed within them.
    const marked = mode === "exact" && d.kind === "changed"
      ? d.expected.map((text, i) => {
        const other = d.actual[i]
        return other === undefined || other === text ? { expected: text, actual: other } : markChange(text, other)
      })
      : []
    const expected = d.expected.map((text, i) => marked[i]?.expected ?? text)
    const actual = d.actual.map((text, i) => marked[i]?.actual ?? text)
    return [head, ...replies("expected", expected, mode), ...replies("actual  ", actual, mode)].join("\n")
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
