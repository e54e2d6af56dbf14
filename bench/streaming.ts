/**
 * Streamed answers through the whole bot over real HTTP: the fake Bot API and a fake model
 * whose synthesis streams a Markdown answer (a heading, bold, a list and a table) in 40 pieces
 * over 2 seconds; classify and think answer at once. Three ways out, alternating answer by
 * answer in this one process so that every way sees the same machine:
 *
 *   rich     RICH_MESSAGES=on, the Bot API accepting the rich methods (Bot API 10.1):
 *            `sendRichMessageDraft` drafts, one `sendRichMessage`
 *   entity   RICH_MESSAGES=off: `sendMessageDraft` drafts and `sendMessage`, text with entities
 *   off      STREAM_REPLIES=false, entities: the whole answer once the stream has ended
 *
 * Per answer, from the update handed to the dispatcher: the first draft (the empty "Thinking…"
 * placeholder), the first answer text the user can see (a draft with text, or the final message
 * without drafts) and the final message, as the fake Bot API received them; and the process's
 * CPU (`process.cpuUsage`) from the update to the turn's end. The fakes run in this process, so
 * the CPU includes their share (the same model stream for every way; a draft or a send costs the
 * fake about the same whichever method it is). Warm-up: one answer each, not counted. Each
 * round also measures the process idle for as long as a stream lasts (the three bots' own timers,
 * the fakes, the runtime): that much of every answer's CPU is not the answer's.
 *
 *   npx tsx bench/streaming.ts [answers per way, default 5]
 */
import { Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { decodeUpdate } from "../src/domain/Update.ts"
import { Dispatcher } from "../src/runtime/Dispatcher.ts"
import type { StreamConfigShape } from "../src/telegram/StreamConfig.ts"
import { textMessage } from "../src/testing/index.ts"
import { botOverFakes } from "../test/support/BotOverFakes.ts"
import { type FakeCall, makeFakeBotApi } from "../test/support/FakeBotApi.ts"
import { makeFakeOpenAi } from "../test/support/FakeOpenAi.ts"
import { round, summarize } from "./support/stats.ts"

const answers = Number(process.argv[2] ?? 5)
const answer = [
  "## Delivery",
  "",
  "**Standard delivery** takes 2–3 days and costs $5; *express* arrives the next day.",
  "",
  "- Orders over $50 ship free",
  "- Pick-up points are open 9:00–21:00",
  "- Tracking comes by e-mail",
  "",
  "| Option | Days | Price |",
  "|:-------|-----:|------:|",
  "| Standard | 2–3 | $5 |",
  "| Express | 1 | $12 |",
  "| Pick-up | 1–2 | free |",
  "",
  "Anything else about your order?"
].join("\n")
const pieceCount = 40
const pieceLength = Math.ceil(answer.length / pieceCount)
const pieces = Array.from({ length: pieceCount }, (_, i) => answer.slice(i * pieceLength, (i + 1) * pieceLength))
const everyMs = 50

interface Way {
  readonly name: "rich" | "entity" | "off"
  readonly stream: Partial<StreamConfigShape>
}
const ways: ReadonlyArray<Way> = [
  { name: "rich", stream: { replies: true, richMessages: "on" } },
  { name: "entity", stream: { replies: true, richMessages: "off" } },
  { name: "off", stream: { replies: false, richMessages: "off" } }
]

const median = (values: ReadonlyArray<number>) => summarize(values).p50
const mean = (values: ReadonlyArray<number>) => values.reduce((a, b) => a + b, 0) / values.length

const finals = new Set(["sendMessage", "sendRichMessage"])
const isDraft = (call: FakeCall) => call.method === "sendMessageDraft" || call.method === "sendRichMessageDraft"
const showsText = (call: FakeCall) =>
  finals.has(call.method) || call.method === "sendRichMessageDraft" || (call.method === "sendMessageDraft" && String(call.params["text"] ?? "") !== "")

interface Answer {
  readonly firstDraftMs: number
  readonly firstTextMs: number
  readonly finalMs: number
  readonly cpuMs: number
  readonly drafts: number
  readonly finalMethod: string
}

const program = Effect.scoped(Effect.gen(function*() {
  const telegram = yield* makeFakeBotApi({ richMessages: "accepted" })
  const model = yield* makeFakeOpenAi({
    fallback: (request) =>
      request.model === "classify-model"
        ? "general"
        : request.body["stream"] === true
        ? { chunks: pieces, everyMs }
        : request.tools === undefined
        // The synthesis without streaming: the same answer, whole, when the stream would end.
        ? { delayMs: pieceCount * everyMs, then: answer }
        : "notes"
  })
  // A bot of its own for each way, all on the one fake Bot API and the one fake model.
  const bots = yield* Effect.forEach(ways, (way) =>
    Effect.map(Layer.build(botOverFakes(telegram, model, { stream: way.stream })), (context) => ({ way, context })))
  let nextUser = 900
  /** One question to a new private chat, to the end of its turn. */
  const ask = (context: (typeof bots)[number]["context"]) =>
    Effect.gen(function*() {
      const dispatcher = yield* Dispatcher
      const userId = nextUser++
      const raw = textMessage({ userId, text: "How much is delivery?" })
      const update = yield* decodeUpdate(raw)
      const cpuBefore = process.cpuUsage()
      const started = performance.now()
      yield* dispatcher.submit({ json: JSON.stringify(raw), update })
      yield* dispatcher.awaitIdle
      const cpu = process.cpuUsage(cpuBefore)
      const calls = (yield* telegram.calls()).filter((c) => c.params["chat_id"] === userId)
      const since = (call: FakeCall | undefined) => (call === undefined ? Number.NaN : telegram.startedAt + call.at - started)
      const final = calls.find((c) => finals.has(c.method))
      return {
        firstDraftMs: since(calls.find(isDraft)),
        firstTextMs: since(calls.find(showsText)),
        finalMs: since(final),
        cpuMs: (cpu.user + cpu.system) / 1000,
        drafts: calls.filter(isDraft).length,
        finalMethod: final?.method ?? "none"
      } satisfies Answer
    }).pipe(Effect.provide(context))
  for (const bot of bots) yield* ask(bot.context)
  const results = new Map<Way["name"], Array<Answer>>(ways.map((way) => [way.name, []]))
  const idle: Array<number> = []
  for (let i = 0; i < answers; i++) {
    for (const bot of bots) results.get(bot.way.name)!.push(yield* ask(bot.context))
    const cpuBefore = process.cpuUsage()
    yield* Effect.sleep(Duration.millis(pieceCount * everyMs))
    const cpu = process.cpuUsage(cpuBefore)
    idle.push((cpu.user + cpu.system) / 1000)
  }
  const figures = ways.map((way) => {
    const rs = results.get(way.name)!
    return {
      way: way.name,
      finalMethod: [...new Set(rs.map((r) => r.finalMethod))].join(","),
      drafts: median(rs.map((r) => r.drafts)),
      firstDraftMs: round(median(rs.map((r) => r.firstDraftMs))),
      firstTextMs: round(median(rs.map((r) => r.firstTextMs))),
      finalMs: round(median(rs.map((r) => r.finalMs))),
      cpuMsPerAnswer: round(mean(rs.map((r) => r.cpuMs)), 2),
      cpuMsRange: [round(Math.min(...rs.map((r) => r.cpuMs)), 1), round(Math.max(...rs.map((r) => r.cpuMs)), 1)]
    }
  })
  const cpuOf = (name: Way["name"]) => figures.find((f) => f.way === name)!.cpuMsPerAnswer
  console.log(`Medians of ${answers} answers per way, alternating; the model streams ${answer.length} characters in ${pieceCount} pieces over ${pieceCount * everyMs} ms.\n`)
  console.log("| way | final method | drafts | first draft (ms) | first answer text (ms) | final message (ms) | CPU per answer (ms, mean; min–max) |")
  console.log("|---|---|---|---|---|---|---|")
  for (const f of figures) {
    const draft = Number.isNaN(f.firstDraftMs) ? "–" : String(f.firstDraftMs)
    console.log(`| ${f.way} | ${f.finalMethod} | ${f.drafts} | ${draft} | ${f.firstTextMs} | ${f.finalMs} | ${f.cpuMsPerAnswer} (${f.cpuMsRange[0]}–${f.cpuMsRange[1]}) |`)
  }
  const richOverEntity = round(cpuOf("rich") / cpuOf("entity"), 2)
  const idleMs = round(mean(idle), 2)
  console.log(`\nCPU rich / entity: ${richOverEntity}×; the process idle for ${pieceCount * everyMs} ms: ${idleMs} ms CPU`)
  console.log(JSON.stringify({ bench: "streaming", answers, node: process.version, figures, richOverEntity, idleCpuMs: idleMs }))
})).pipe(Logger.withMinimumLogLevel(LogLevel.Error))

Effect.runPromise(program).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
