/**
 * Replay of recorded updates (one JSON update per line) through the dispatcher and the whole
 * pipeline, with the bot's messages recorded instead of sent. Prints the transcript grouped
 * per chat and can write every bot message as one JSON line.
 */
import { FileSystem } from "@effect/platform"
import { Console, Duration, Effect, Fiber, Option, ParseResult, Schedule, Schema } from "effect"
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
    return { updates: updates.length, badLines: bad.length, sent: lines } satisfies ReplayResult
  })
