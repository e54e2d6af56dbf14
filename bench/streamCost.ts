/**
 * What a streamed completion costs the bot's process against a whole one: CPU per model call
 * through the live model (`makeOpenAiModel`: the openai SDK on `keepAliveFetch`, the one retry
 * policy, metrics), `complete` against `stream`, alternating, in one run. The endpoint is a
 * plain OpenAI-compatible server in a child process answering at once, so only the client's
 * work is measured: the answer of 15 words comes whole, or as 15 text chunks, a finish chunk
 * and a usage chunk.
 *
 *   npx tsx bench/streamCost.ts [calls per round, default 1500]
 */
import { spawn } from "node:child_process"
import { Duration, Effect, Option } from "effect"
import { LlmConfig } from "../src/llm/LlmConfig.ts"
import type { CompletionRequest } from "../src/llm/LanguageModel.ts"
import { makeOpenAiModel } from "../src/llm/OpenAiModel.ts"

const calls = Number(process.argv[2] ?? 1500)
const concurrency = 16

const server = `
const http = require("node:http")
const words = "Thanks for your question, here is a short answer with several words in it for you".split(" ").map((w) => w + " ")
const chunk = (choices, extra = {}) => "data: " + JSON.stringify({ id: "c", object: "chat.completion.chunk", created: 1, model: "m", choices, ...extra }) + "\\n\\n"
const srv = http.createServer((req, res) => {
  let body = ""
  req.on("data", (c) => (body += c))
  req.on("end", () => {
    if (JSON.parse(body).stream) {
      res.writeHead(200, { "content-type": "text/event-stream" })
      for (const w of words) res.write(chunk([{ index: 0, delta: { content: w }, finish_reason: null }]))
      res.write(chunk([{ index: 0, delta: {}, finish_reason: "stop" }]))
      res.write(chunk([], { usage: { prompt_tokens: 5, completion_tokens: 15, total_tokens: 20 } }))
      return res.end("data: [DONE]\\n\\n")
    }
    res.writeHead(200, { "content-type": "application/json" })
    res.end(JSON.stringify({ id: "c", object: "chat.completion", created: 1, model: "m",
      choices: [{ index: 0, message: { role: "assistant", content: words.join("") }, finish_reason: "stop" }],
      usage: { prompt_tokens: 5, completion_tokens: 15, total_tokens: 20 } }))
  })
})
srv.listen(0, "127.0.0.1", () => console.log(srv.address().port))
`

const program = Effect.gen(function*() {
  const child = spawn(process.execPath, ["-e", server], { stdio: ["ignore", "pipe", "inherit"] })
  yield* Effect.addFinalizer(() => Effect.sync(() => child.kill()))
  const port = yield* Effect.async<number>((resume) => {
    child.stdout.once("data", (data: Buffer) => resume(Effect.succeed(Number(String(data).trim()))))
  })
  const config = yield* Effect.provide(
    LlmConfig,
    LlmConfig.make({ baseUrl: Option.some(`http://127.0.0.1:${port}/v1`), timeout: Duration.seconds(5) })
  )
  const model = yield* makeOpenAiModel(config)
  const request: CompletionRequest = { purpose: "synthesize", messages: [{ role: "user", content: "hi" }] }
  let shown = 0
  const kinds = {
    complete: model.complete(request),
    stream: model.stream!(request, () => void shown++)
  }
  const round = (kind: keyof typeof kinds, n: number) =>
    Effect.forEach(Array.from({ length: n }), () => kinds[kind], { concurrency, discard: true })
  const results: Record<string, Array<number>> = { complete: [], stream: [] }
  yield* round("complete", 200)
  yield* round("stream", 200)
  for (const kind of ["complete", "stream", "complete", "stream"] as const) {
    const before = process.cpuUsage()
    yield* round(kind, calls)
    const used = process.cpuUsage(before)
    results[kind]!.push((used.user + used.system) / 1000 / calls)
  }
  const mean = (xs: ReadonlyArray<number>) => xs.reduce((a, b) => a + b, 0) / xs.length
  const figures = {
    bench: "stream-cost",
    calls,
    concurrency,
    cpuMsPerCall: { complete: results["complete"]!.map((x) => +x.toFixed(3)), stream: results["stream"]!.map((x) => +x.toFixed(3)) },
    streamOverComplete: +(mean(results["stream"]!) / mean(results["complete"]!)).toFixed(2),
    textsShown: shown
  }
  console.log(`complete: ${figures.cpuMsPerCall.complete.join(" / ")} ms CPU per call`)
  console.log(`stream:   ${figures.cpuMsPerCall.stream.join(" / ")} ms CPU per call (${figures.streamOverComplete}x)`)
  console.log(JSON.stringify(figures))
})

Effect.runPromise(Effect.scoped(program)).catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
