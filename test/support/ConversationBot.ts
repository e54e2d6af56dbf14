/**
 * The whole bot over the fake Bot API (real HTTP), a scripted model and the given stores: for
 * tests of conversations as Telegram has them (groups, forum topics, business chats). Updates
 * are handed to the dispatcher as the webhook would, and `deliver` waits until they are done.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join, resolve } from "node:path"
import { NodeContext } from "@effect/platform-node"
import { Duration, Effect, Layer } from "effect"
import { DialogConfig, type DialogConfigShape } from "../../src/dialog/DialogConfig.ts"
import type { RunningTurns } from "../../src/dialog/RunningTurns.ts"
import { decodeUpdate } from "../../src/domain/Update.ts"
import { HandoffConfig, type HandoffConfigShape } from "../../src/handoff/HandoffConfig.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelScripted, type Script } from "../../src/llm/ScriptedModel.ts"
import { PaymentsConfig, type PaymentsConfigShape } from "../../src/payments/PaymentsConfig.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer, type Stores } from "../../src/runtime/BotLayer.ts"
import type { ChatQueue } from "../../src/runtime/ChatQueue.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { DispatcherConfig, type DispatcherConfigShape } from "../../src/runtime/DispatcherConfig.ts"
import type { UpdateRunner } from "../../src/runtime/UpdateRunner.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { StreamConfig, type StreamConfigShape } from "../../src/telegram/StreamConfig.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"
import { UsageConfig, type UsageConfigShape } from "../../src/usage/UsageConfig.ts"
import { type FakeBotApi, telegramLayerFor } from "./FakeBotApi.ts"

export interface ConversationBotOptions {
  readonly script?: Script
  readonly dialog?: Partial<DialogConfigShape>
  readonly stores?: Layer.Layer<Stores>
  readonly dispatcher?: Partial<DispatcherConfigShape>
  /** Human handoff settings; notice-only (no `HANDOFF_CHAT_ID`) when not given. */
  readonly handoff?: Partial<HandoffConfigShape>
  /** Streamed answers, the Stop button and rich messages; the defaults when not given. */
  readonly stream?: Partial<StreamConfigShape>
  /** The model; the scripted one when not given (a live model over a fake endpoint, say, or one wrapping the scripted one). */
  readonly model?: Layer.Layer<LanguageModel, never, LanguageModel>
  /** Budgets and `ALLOWED_USERS`; none when not given. */
  readonly usage?: Partial<UsageConfigShape>
  /** Telegram Stars; off when not given. */
  readonly payments?: Partial<PaymentsConfigShape>
  /** The profile file; the shop's when not given. */
  readonly profile?: string
  /** The chats' queues (the cluster's, say); in this process when not given. */
  readonly queue?: Layer.Layer<ChatQueue, never, UpdateRunner | Stores | DispatcherConfig | RunningTurns>
}

/** The bot's layers against `fake`; `ScriptedModel` is provided too (the model unless `options.model`). */
export const conversationBot = (fake: FakeBotApi, options: ConversationBotOptions = {}) =>
  botLayer({
    telegram: telegramLayerFor(fake),
    model: options.model ?? Layer.effect(LanguageModel, LanguageModel),
    stores: options.stores ?? StoresMemory,
    profile: BotProfileFile(options.profile ?? defaultProfilePath).pipe(Layer.provide(NodeContext.layer)),
    dialogConfig: DialogConfig.make(options.dialog),
    dispatcherConfig: DispatcherConfig.make(options.dispatcher),
    sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) }),
    handoffConfig: HandoffConfig.make(options.handoff),
    usageConfig: UsageConfig.make(options.usage),
    paymentsConfig: PaymentsConfig.make(options.payments),
    streamConfig: StreamConfig.make(options.stream),
    ...(options.queue === undefined ? {} : { queue: options.queue })
  }).pipe(Layer.orDie, Layer.provideMerge(LanguageModelScripted(options.script ?? {})))

/** Hands updates (as Telegram sends them) to the dispatcher in order and waits until all are handled. */
export const deliver = (...updates: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    for (const raw of updates) {
      const json = JSON.stringify(raw)
      const update = yield* decodeUpdate(JSON.parse(json)).pipe(Effect.orDie)
      yield* dispatcher.submit({ json, update }).pipe(Effect.orDie)
    }
    yield* dispatcher.awaitIdle
  })

/**
 * The shop's profile changed by `edit`, as a file in a directory removed when the scope closes
 * (its knowledge base stays the shop's).
 */
export const editedProfile = (edit: (shop: Record<string, unknown>) => Record<string, unknown>) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-profile-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  ).pipe(Effect.map((dir) => {
    const shop = JSON.parse(readFileSync(defaultProfilePath, "utf8")) as Record<string, unknown>
    const file = join(dir, "profile.json")
    const knowledgeBase = resolve(dirname(defaultProfilePath), String(shop["knowledgeBase"]))
    writeFileSync(file, JSON.stringify(edit({ ...shop, knowledgeBase })))
    return file
  }))
