/**
 * The testing kit: everything a team needs to test its own tools and profile offline with
 * `@effect/vitest` — a scripted model, the in-memory Telegram recorder, memory stores, update
 * builders, and `runUpdates`, which sends updates through the real dispatcher and pipeline
 * and returns what the bot sent.
 */
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Layer, Option } from "effect"
import { DialogConfig, type DialogConfigShape, DispatcherConfig, type DispatcherConfigShape, SendConfig, type SendConfigShape } from "../config.ts"
import { decodeUpdate } from "../domain/Update.ts"
import { LanguageModel } from "../llm/LanguageModel.ts"
import { OfflineModel } from "../llm/OfflineModel.ts"
import { type Script, ScriptedModelLayer } from "../llm/ScriptedModel.ts"
import { type BotProfile, BotProfileFile } from "../profile/BotProfile.ts"
import { botLayer, type ToolEnvironment } from "../runtime/BotLayer.ts"
import { Dispatcher } from "../runtime/Dispatcher.ts"
import { StoresMemory } from "../store/memory/MemoryStores.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { type RecorderOptions, type SentRecord, TelegramRecorder, TelegramRecorderLayer } from "../telegram/TelegramRecorder.ts"
import type { Tool } from "../tools/Tool.ts"
import { builtinTools } from "../tools/builtin/index.ts"

export { ScriptedModel, ScriptedModelLayer, type Script, type ScriptedReply } from "../llm/ScriptedModel.ts"
export { TelegramRecorder, TelegramRecorderLayer } from "../telegram/TelegramRecorder.ts"
export { StoresMemory } from "../store/memory/MemoryStores.ts"
export { builtinTools } from "../tools/builtin/index.ts"
export { defineTool, ToolFailure } from "../tools/Tool.ts"

export interface TestBotOptions<R = never> {
  /** Script of the scripted model (used unless `model` is given). */
  readonly script?: Script
  /** Another model layer, e.g. `OfflineModel`. */
  readonly model?: Layer.Layer<LanguageModel, never, BotProfile> | "offline"
  /** Profile file (default: the bundled shop profile). */
  readonly profile?: string
  /** Tools (default: the built-in ones). */
  readonly tools?: ReadonlyArray<Tool<ToolEnvironment | R>>
  readonly telegram?: RecorderOptions
  readonly dialog?: Partial<DialogConfigShape>
  readonly dispatcher?: Partial<DispatcherConfigShape>
  readonly send?: Partial<SendConfigShape>
}

export const defaultProfilePath = new URL("../../profiles/shop/profile.json", import.meta.url).pathname

/**
 * The whole bot on test layers. Provides every bot service plus `TelegramRecorder` and, with a
 * script, `ScriptedModel`. Extra services your tools need are provided by your own layers.
 */
export const testBot = <R = never>(options: TestBotOptions<R> = {}) => {
  const model = options.model === "offline"
    ? OfflineModel
    : options.model ?? Layer.effect(LanguageModel, LanguageModel)
  const core = botLayer<never, TelegramApi | LanguageModel | R>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model,
    stores: StoresMemory,
    profile: BotProfileFile(options.profile ?? defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
    tools: options.tools ?? builtinTools,
    dialogConfig: DialogConfig.make(options.dialog),
    dispatcherConfig: DispatcherConfig.make(options.dispatcher),
    sendConfig: SendConfig.make({ backoffBase: Duration.millis(1), ...options.send })
  }).pipe(Layer.orDie)
  return core.pipe(
    Layer.provideMerge(Layer.merge(TelegramRecorderLayer(options.telegram), ScriptedModelLayer(options.script ?? {})))
  )
}

let nextUpdateId = 1_000_000
let nextMessageId = 1

export interface TextMessageOptions {
  readonly text: string
  readonly userId?: number
  readonly chatId?: number
  readonly firstName?: string
  readonly updateId?: number
  readonly chatType?: string
}

/** A `message` update with text, as Telegram sends it (private chat unless `chatId` differs). */
export const textMessage = (options: TextMessageOptions) => {
  const userId = options.userId ?? 42
  const chatId = options.chatId ?? userId
  return {
    update_id: options.updateId ?? nextUpdateId++,
    message: {
      message_id: nextMessageId++,
      from: { id: userId, is_bot: false, first_name: options.firstName ?? "Test" },
      chat: { id: chatId, type: options.chatType ?? (chatId === userId ? "private" : "supergroup") },
      date: 1_764_300_000,
      text: options.text
    }
  }
}

/**
 * Submits updates (objects or JSON lines) to the dispatcher in order, waits until all are
 * handled, and returns the messages sent while they ran.
 */
export const runUpdates = (updates: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    const recorder = yield* TelegramRecorder
    const before = (yield* recorder.sent).length
    for (const raw of updates) {
      const json = typeof raw === "string" ? raw : JSON.stringify(raw)
      const update = yield* decodeUpdate(JSON.parse(json))
      yield* dispatcher.submit({ json, update })
    }
    yield* dispatcher.awaitIdle
    return (yield* recorder.sent).slice(before)
  })

/** The texts a transcript sent to one chat, in order. */
export const textsTo = (sent: ReadonlyArray<SentRecord>, chatId: number) =>
  sent.filter((m) => m.chatId === chatId).map((m) => m.text)

/** The update each message answers, or null. */
export const answeredUpdate = (record: SentRecord) => Option.getOrNull(record.updateId)
