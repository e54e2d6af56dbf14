/**
 * What a streamed completion costs the bot's process against a whole one: CPU per model call
 * through the live model (`makeOpenAiModel`: the openai SDK on `keepAliveFetch`, the one retry
 * policy, metrics), `complete` against `stream`, alternating, in one run. The endpoint is the
 * tests' fake OpenAI in a child process answering at once (`support/fakeOpenAiProcess.ts`), so
 * only the client's work is measured: the answer of 15 words comes whole, or as 15 text
 * chunks, a finish chunk and a usage chunk.
 *
 *   npx tsx bench/streamCost.ts [calls per round, default 1500]
 */
import { Duration, Effect, Option } from "effect"
import { LlmConfig } from "../src/llm/LlmConfig.ts"
import type { CompletionRequest } from "../src/llm/LanguageModel.ts"
import { makeOpenAiModel } from "../src/llm/OpenAiModel.ts"
import { start } from "../test/support/BotProcess.ts"

const calls = Number(process.argv[2] ?? 1500)
const concurrency = 16

const answer = "Thanks for your question, here is a short answer with several words in it for you"
const fakeScript = new URL("./support/fakeOpenAiProcess.ts", import.meta.url).pathname

const program = Effect.gen(function*() {
  const fake = yield* start(process.execPath, ["--import", "tsx", fakeScript], { BENCH_ANSWER: answer })
  const url = yield* Effect.async<string>((resume) => {
    fake.child.stdout?.once("data", (data: Buffer) => resume(Effect.succeed(String(data).trim())))
  })
  const config = yield* Effect.provide(LlmConfig, LlmConfig.make({ baseUrl: Option.some(url), timeout: Duration.seconds(5) }))
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
