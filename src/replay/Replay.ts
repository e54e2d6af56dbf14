/**
 * Replay of recorded updates (one JSON update per line) through the dispatcher and the whole
 * pipeline, with the bot's messages recorded instead of sent. Prints the transcript grouped
 * per chat and can write every bot message as one JSON line.
 *
 * Replay is also a regression check: given a stored transcript (the `--out` format), it
 * compares the bot's replies with it, update by update, and fails with `ReplayMismatch`
 * listing every difference (see `Transcript.ts`). Run it under `withFixedClock` for the same
 * transcript on every run.
 */
import { FileSystem } from "@effect/platform"
import { Console, Duration, Effect, Fiber, Option, Schedule, Schema } from "effect"
import { Update, updateChatId, updateKind } from "../domain/Update.ts"
import { summarizeParseError } from "../domain/decodeErrors.ts"
import { Dispatcher } from "../runtime/Dispatcher.ts"
import { type SentRecord, TelegramRecorder } from "../telegram/TelegramRecorder.ts"
import {
  compareTranscripts,
  type ExpectMode,
  readTranscript,
  renderDifferences,
  ReplayMismatch,
  type TranscriptLine,
  transcriptLines
} from "./Transcript.ts"

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
    else bad.push({ line: index + 1, message: summarizeParseError(decoded.left) })
  })
  return { updates, bad }
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

/** The one line the commands print on stderr when a replay is done. */
export const replaySummary = (result: ReplayResult): string =>
  `replayed ${result.updates} updates${
    result.badLines > 0 ? ` (${result.badLines} bad lines skipped)` : ""
  }, ${result.sent.length} bot messages`
