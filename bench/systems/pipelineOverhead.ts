/**
 * Pipeline overhead: CPU time per update through the dispatcher and the whole pipeline with
 * zero-latency in-process stand-ins (memory stores, the in-memory Telegram recorder, a model
 * that answers at once). Reports to the parent process, or prints when run alone.
 */
import { Effect, Layer, Logger, LogLevel } from "effect"
import { decodeUpdateJson } from "../../src/domain/Update.ts"
import { LanguageModel, noUsage } from "../../src/llm/LanguageModel.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { tracingLayer } from "../../src/observability/Tracing.ts"
import { testBot } from "../../src/testing/index.ts"
import { makeUpdates } from "../support/loadgen.ts"
import { round } from "../support/stats.ts"

const count = Number(process.env.BENCH_OVERHEAD_UPDATES ?? 10_000)

const InstantModel = Layer.succeed(LanguageModel, LanguageModel.of({
  description: "instant",
  complete: (request) =>
    Effect.succeed({
      text: request.purpose === "classify" ? "general" : "A short answer.",
      toolCalls: [],
      usage: noUsage,
      model: "instant"
    })
}))

const replayAll = (bodies: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    for (const json of bodies) yield* dispatcher.submit({ json, update: yield* decodeUpdateJson(json) })
    yield* dispatcher.awaitIdle
  })

const program = Effect.gen(function*() {
  // Warm up the JIT on other update ids, then measure.
  yield* replayAll(makeUpdates(1000, 100, 50_000_000))
  const bodies = makeUpdates(count, 1000, 60_000_000)
  const cpu = process.cpuUsage()
  const started = performance.now()
  yield* replayAll(bodies)
  const used = process.cpuUsage(cpu)
  return {
    updates: count,
    cpuMsPerUpdate: round((used.user + used.system) / 1000 / count, 3),
    wallS: round((performance.now() - started) / 1000, 2)
  }
}).pipe(
  Effect.provide(testBot({ model: InstantModel, dispatcher: { maxConcurrentDialogs: 64 } })),
  Logger.withMinimumLogLevel(LogLevel.Error),
  // As in production without a collector (src/observability/Tracing.ts): no spans.
  Effect.provide(tracingLayer)
)

Effect.runPromise(program).then((result) => {
  if (process.send) process.send(result)
  else console.log(JSON.stringify(result))
}, (error: unknown) => {
  console.error(error)
  process.exit(1)
})
