/**
 * This bot as the benchmarks run it: the webhook server, the Bot API client over HTTP, the
 * OpenAI-compatible model over HTTP, and the store chosen by BENCH_STORE:
 *   sqlite    the SQLite store on a file (WAL)
 *   latency   the memory store with an asynchronous delay per call (BENCH_STORE_LATENCY_MS)
 *   blocking  the memory store with a delay that blocks the event loop (the original design)
 *   memory    the memory store as it is
 * BENCH_NOOP=1 puts a pipeline that does nothing behind the dispatcher (intake benchmark).
 */
import type { Inbox } from "../../src/store/Inbox.ts"
import type { Intake } from "../../src/telegram/Intake.ts"
import type { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { TelegramApiRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { HttpServer } from "@effect/platform"
import { NodeRuntime } from "@effect/platform-node"
import { type ConfigError, Duration, Effect, Layer, Logger, LogLevel } from "effect"
import type { ConfigurationError, StoreError } from "../../src/domain/errors.ts"
import { join } from "node:path"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { DialogPipeline } from "../../src/dialog/DialogPipeline.ts"
import { LanguageModelLive } from "../../src/llm/OpenAiLayers.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { DispatcherLive } from "../../src/runtime/Dispatcher.ts"
import { selectedProfile } from "../../src/runtime/Environment.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { WebhookConfig } from "../../src/telegram/TelegramConfig.ts"
import { TelegramApiLive } from "../../src/telegram/TelegramHttp.ts"
import { secretHeader, WebhookServerLive } from "../../src/telegram/WebhookServer.ts"
import { tracingLayer } from "../../src/observability/Tracing.ts"
import { tuneHeapGrowth } from "../../src/runtime/HeapGrowth.ts"
import { ioFairScheduler } from "../../src/runtime/Scheduler.ts"
import { env, serveBench } from "../support/child.ts"
import { countSteps } from "../support/steps.ts"
import { withStoreLatency } from "../support/storeLatency.ts"

const secret = "bench-secret"
// What the command line does first (`runBot`); BENCH_BOT_NODE_FLAGS=--heap-growing-percent=0
// measures V8's own growth.
tuneHeapGrowth()
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
  ? withStoreLatency(StoresMemory, "blocking", latency)
  : kind === "latency"
  ? withStoreLatency(StoresMemory, "async", latency)
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
  process.env.BENCH_COUNT_STEPS === "1" ? Effect.provide(countSteps) : (e) => e,
  // The entry point's scheduler; BENCH_SCHEDULER=default measures effect's own.
  process.env.BENCH_SCHEDULER === "default" ? (e) => e : Effect.withScheduler(ioFairScheduler),
  Logger.withMinimumLogLevel(LogLevel.Error),
  NodeRuntime.runMain({ disablePrettyLogger: true })
)
