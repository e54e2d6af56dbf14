/**
 * Streamed answers: time from an update to the first visible answer text and to the final
 * message, with streaming on (drafts) and off, over the real HTTP clients against the fake
 * Bot API and a fake model that streams its answer in 40 pieces over 2 seconds.
 *
 *   npx tsx bench/streaming.ts
 */
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Layer, Logger, LogLevel, Option } from "effect"
import { DialogConfig } from "../src/dialog/DialogConfig.ts"
import { decodeUpdate } from "../src/domain/Update.ts"
import { BotProfileFile } from "../src/profile/BotProfile.ts"
import { botLayer } from "../src/runtime/BotLayer.ts"
import { Dispatcher } from "../src/runtime/Dispatcher.ts"
import { DispatcherConfig } from "../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../src/telegram/SendConfig.ts"
import { StreamConfig } from "../src/telegram/StreamConfig.ts"
import { defaultProfilePath, StoresMemory, textMessage } from "../src/testing/index.ts"
import { type FakeBotApi, makeFakeBotApi, telegramLayerFor } from "../test/support/FakeBotApi.ts"
import { makeFakeOpenAi, openAiLayerFor } from "../test/support/FakeOpenAi.ts"

const pieces = Array.from({ length: 40 }, (_, i) => (i === 0 ? "**Delivery** " : `word${i} `))
const rounds = 5

const median = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN

/** Milliseconds from now until `seen` holds, checking every 2 ms. */
const until = (seen: Effect.Effect<boolean>, started: number) =>
  Effect.gen(function*() {
    while (!(yield* seen)) yield* Effect.sleep(Duration.millis(2))
    return Date.now() - started
  })

const measure = (streaming: boolean) =>
  Effect.scoped(Effect.gen(function*() {
    const telegram: FakeBotApi = yield* makeFakeBotApi()
    const model = yield* makeFakeOpenAi({
      fallback: (request) =>
        request.model === "classify-model"
          ? "general"
          : request.body["stream"] === true
          ? { chunks: pieces, everyMs: 50 }
          : request.tools === undefined
          // The synthesis without streaming: the same answer, whole, when the stream would end.
          ? { delayMs: pieces.length * 50, then: pieces.join("") }
          : "notes"
    })
    const bot = botLayer({
      telegram: telegramLayerFor(telegram),
      model: openAiLayerFor(model, { model: "main-model", classifyModel: Option.some("classify-model") }),
      stores: StoresMemory,
      profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
      dialogConfig: DialogConfig.make(),
      dispatcherConfig: DispatcherConfig.make(),
      sendConfig: SendConfig.make(),
      streamConfig: StreamConfig.make({ replies: streaming })
    }).pipe(Layer.orDie)
    const firstText: Array<number> = []
    const final: Array<number> = []
    yield* Effect.gen(function*() {
      const dispatcher = yield* Dispatcher
      for (let round = 0; round < rounds; round++) {
        const userId = 900 + round
        const raw = textMessage({ userId, text: "How much is delivery?" })
        const ofChat = (method: string) =>
          Effect.map(telegram.calls(method), (calls) => calls.filter((c) => c.params["chat_id"] === userId))
        const started = Date.now()
        yield* dispatcher.submit({ json: JSON.stringify(raw), update: yield* decodeUpdate(raw) })
        const answerShown = Effect.map(
          Effect.all([ofChat("sendMessageDraft"), ofChat("sendMessage")]),
          ([drafts, sends]) => sends.length > 0 || drafts.some((d) => String(d.params["text"]).startsWith("Delivery"))
        )
        firstText.push(yield* until(answerShown, started))
        final.push(yield* until(Effect.map(ofChat("sendMessage"), (sends) => sends.length > 0), started))
        yield* dispatcher.awaitIdle
      }
    }).pipe(Effect.provide(bot))
    return { firstText: median(firstText), final: median(final) }
  }))

const program = Effect.gen(function*() {
  const on = yield* measure(true)
  const off = yield* measure(false)
  const row = (name: string, r: { readonly firstText: number; readonly final: number }) =>
    `| ${name} | ${r.firstText} ms | ${r.final} ms |`
  console.log(`Median of ${rounds} dialogs; the model streams 40 pieces over 2 s.\n`)
  console.log("| streaming | first visible answer text | final message |")
  console.log("|---|---|---|")
  console.log(row("on (drafts)", on))
  console.log(row("off", off))
}).pipe(Logger.withMinimumLogLevel(LogLevel.Error))

Effect.runPromise(program).catch((error: unknown) => {
  console.error(error)
  process.exitCode = 1
})
