/**
 * This bot as the benchmarks run it: the webhook server, the Bot API client over HTTP, the
 * OpenAI-compatible model over HTTP, and the store chosen by BENCH_STORE:
 *   sqlite    the SQLite store on a file (WAL)
 *   latency   the memory store with an asynchronous delay per call (BENCH_STORE_LATENCY_MS)
 *   blocking  the memory store with a delay that blocks the event loop (the original design)
 *   memory    the memory store as it is
 * BENCH_NOOP=1 puts a pipeline that does nothing behind the dispatcher (intake benchmark).
 *
 * The bot's modules are the compiled ones in dist/ (tsc's output, what the package's entries
 * and the command line's bundle are made of; bench/run.ts builds them first), so the figures are
 * those of the code users run. BENCH_SOURCES=1 loads the sources through tsx instead, which
 * wraps every named function in its `__name` call: more CPU per update than the build.
 */
import { HttpServer } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { type ConfigError, Duration, Effect, Layer, Logger, LogLevel } from "effect"
import { join } from "node:path"
import type { ConfigurationError, StoreError } from "../../src/domain/errors.ts"
import type { Inbox } from "../../src/store/Inbox.ts"
import type { Intake } from "../../src/telegram/Intake.ts"
import type { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { env, serveBench } from "../support/child.ts"
import { countSteps } from "../support/steps.ts"
import { withStoreLatency } from "../support/storeLatency.ts"

const sources = process.env.BENCH_SOURCES === "1"
/** One of the bot's modules, from dist/ or (BENCH_SOURCES=1) from src/. */
const part = <M>(path: string): Promise<M> =>
  import(new URL(`../../${sources ? "src" : "dist"}/${path}.${sources ? "ts" : "js"}`, import.meta.url).href) as Promise<M>

// What the command line does first (`runBot`), before the bot's modules load, unless node's
// command line names the flag (`npm start` does; the bench passes npm start's flags on);
// BENCH_BOT_NODE_FLAGS=--heap-growing-percent=0 measures V8's own growth.
const { tuneHeapGrowth } = await part<typeof import("../../src/runtime/HeapGrowth.ts")>("runtime/HeapGrowth")
tuneHeapGrowth()

const [
  { TelegramApiRecorder },
  { DispatcherConfig },
  { DialogPipeline },
  { LanguageModelLive },
  { botLayer },
  { DispatcherLive },
  { selectedProfile },
  { StoresMemory },
  { StoresSqlite },
  { WebhookConfig },
  { TelegramApiLive },
  { secretHeader, WebhookServerLive },
  { tracingLayer },
  { ioFairScheduler },
  { mapStores }
] = await Promise.all([
  part<typeof import("../../src/telegram/TelegramRecorder.ts")>("telegram/TelegramRecorder"),
  part<typeof import("../../src/runtime/DispatcherConfig.ts")>("runtime/DispatcherConfig"),
  part<typeof import("../../src/dialog/DialogPipeline.ts")>("dialog/DialogPipeline"),
  part<typeof import("../../src/llm/OpenAiLayers.ts")>("llm/OpenAiLayers"),
  part<typeof import("../../src/runtime/BotLayer.ts")>("runtime/BotLayer"),
  part<typeof import("../../src/runtime/Dispatcher.ts")>("runtime/Dispatcher"),
  part<typeof import("../../src/runtime/Environment.ts")>("runtime/Environment"),
  part<typeof import("../../src/store/memory/MemoryStores.ts")>("store/memory/MemoryStores"),
  part<typeof import("../../src/store/sqlite/SqliteStores.ts")>("store/sqlite/SqliteStores"),
  part<typeof import("../../src/telegram/TelegramConfig.ts")>("telegram/TelegramConfig"),
  part<typeof import("../../src/telegram/TelegramHttp.ts")>("telegram/TelegramHttp"),
  part<typeof import("../../src/telegram/WebhookServer.ts")>("telegram/WebhookServer"),
  part<typeof import("../../src/observability/Tracing.ts")>("observability/Tracing"),
  part<typeof import("../../src/runtime/Scheduler.ts")>("runtime/Scheduler"),
  part<typeof import("../../src/store/Instrumented.ts")>("store/Instrumented")
])

const secret = "bench-secret"
process.env.TELEGRAM_BOT_TOKEN = "123456:bench-token"
process.env.TELEGRAM_API_BASE_URL = env("BENCH_BOTAPI_URL")
process.env.OPENAI_BASE_URL = env("BENCH_OPENAI_URL")
process.env.OPENAI_API_KEY = "bench"
process.env.WEBHOOK_SECRET = secret
process.env.HOST = "127.0.0.1"
process.env.PORT = "0"
// W1 compares the same dialog across systems: final messages only, no drafts (what streaming
// costs and buys is bench/streaming.ts and bench/streamCost.ts).
process.env.STREAM_REPLIES = process.env.STREAM_REPLIES ?? "false"

const latency = Number(env("BENCH_STORE_LATENCY_MS", "5"))
const kind = env("BENCH_STORE", "latency")
const stores = kind === "sqlite"
  ? StoresSqlite({ path: join(env("BENCH_TMP"), "bench.sqlite"), busyTimeout: Duration.seconds(5) })
  : kind === "blocking"
  ? withStoreLatency(mapStores, StoresMemory, "blocking", latency)
  : kind === "latency"
  ? withStoreLatency(mapStores, StoresMemory, "async", latency)
  : StoresMemory

const NoDialog = Layer.succeed(DialogPipeline, DialogPipeline.of({
  handle: () => Effect.succeed({ _tag: "Skipped", reason: "bench" }),
  apologize: () => Effect.void
}))

const dispatcher: Layer.Layer<Intake | TelegramApi | Inbox, ConfigError.ConfigError | StoreError | ConfigurationError> =
  process.env.BENCH_NOOP === "1"
  ? DispatcherLive.pipe(Layer.provideMerge(Layer.mergeAll(NoDialog, stores, DispatcherConfig.fromEnv, TelegramApiRecorder())))
  : botLayer<ConfigError.ConfigError | StoreError | ConfigurationError, never>({
    telegram: TelegramApiLive,
    model: LanguageModelLive,
    stores,
    profile: selectedProfile
  })

const server = WebhookServerLive().pipe(Layer.provide(Layer.merge(dispatcher, WebhookConfig.fromEnv)))

const main = Effect.gen(function*() {
  const http = yield* HttpServer.HttpServer
  const address = http.address
  if (address._tag !== "TcpAddress") return yield* Effect.dieMessage("expected a TCP address")
  serveBench({ port: address.port, path: "/telegram/webhook", headers: { [secretHeader]: secret } })
  return yield* Effect.never
})

main.pipe(
  Effect.provide(server),
  Effect.provide(tracingLayer),
  process.env.BENCH_COUNT_STEPS !== undefined ? Effect.provide(countSteps) : (e) => e,
  // The entry point's scheduler; BENCH_SCHEDULER=default measures effect's own.
  process.env.BENCH_SCHEDULER === "default" ? (e) => e : Effect.withScheduler(ioFairScheduler),
  Logger.withMinimumLogLevel(LogLevel.Error),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
