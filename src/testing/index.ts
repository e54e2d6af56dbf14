/**
 * The testing kit: everything a team needs to test its own tools and profile offline with
 * `@effect/vitest` — a scripted model (scripted per turn and stage with `turns`), the
 * in-memory Telegram recorder, memory stores, update builders (`textMessage`,
 * `conversation`), and `runUpdates`, which sends updates through the real dispatcher and
 * pipeline and returns what the bot sent; `transcript` turns that into the lines `replay
 * --out` writes, and `modelRequests` / `toolResults` show what the model was given. `replay`
 * runs a recorded conversation and checks the replies against a stored transcript.
 *
 * Imported as `effect-telegram-dialog-bot/testing`.
 */
import { StreamConfig, type StreamConfigShape } from "../telegram/StreamConfig.ts"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { DialogConfig, type DialogConfigShape } from "../dialog/DialogConfig.ts"
import { UsageConfig, type UsageConfigShape } from "../usage/UsageConfig.ts"
import { PaymentsConfig, type PaymentsConfigShape } from "../payments/PaymentsConfig.ts"
import { ToolsConfig, type ToolsConfigShape } from "../tools/ToolsConfig.ts"
import { DispatcherConfig, type DispatcherConfigShape } from "../runtime/DispatcherConfig.ts"
import { SendConfig, type SendConfigShape } from "../telegram/SendConfig.ts"
import { decodeUpdate } from "../domain/Update.ts"
import { transcriptLines } from "../replay/Transcript.ts"
import { type CompletionRequest, LanguageModel, type Purpose } from "../llm/LanguageModel.ts"
import { LanguageModelOffline } from "../llm/OfflineModel.ts"
import { type Script, ScriptedModel, LanguageModelScripted, type ScriptedReply } from "../llm/ScriptedModel.ts"
import { type BotProfile, BotProfileFile } from "../profile/BotProfile.ts"
import { HandoffConfig, type HandoffConfigShape } from "../handoff/HandoffConfig.ts"
import { botLayer, type ToolEnvironment } from "../runtime/BotLayer.ts"
import { Dispatcher } from "../runtime/Dispatcher.ts"
import { DocumentTextLive } from "../media/DocumentText.ts"
import { MediaConfig, type MediaConfigShape } from "../media/MediaConfig.ts"
import { MediaTurnWith } from "../media/MediaTurn.ts"
import { type TelegramFiles, TelegramFilesUnavailable } from "../media/TelegramFiles.ts"
import { type Transcriber, TranscriberUnavailable } from "../media/Transcriber.ts"
import { StoresMemory } from "../store/memory/MemoryStores.ts"
import type { Stores } from "../store/Stores.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import { type RecorderOptions, type SentRecord, TelegramApiRecorder, TelegramRecorder } from "../telegram/TelegramRecorder.ts"
import type { Tool } from "../tools/Tool.ts"
import type { Command } from "../dialog/Command.ts"
import { builtinTools } from "../tools/builtin/index.ts"

export { ScriptedModel, LanguageModelScripted, type Script, type ScriptedReply, type ScriptedToolCall } from "../llm/ScriptedModel.ts"
export type { CompletionRequest, ChatMessage, ToolCall, ToolSpec } from "../llm/LanguageModel.ts"
export { LanguageModelOffline } from "../llm/OfflineModel.ts"
export { TelegramRecorder, TelegramApiRecorder, type SentRecord } from "../telegram/TelegramRecorder.ts"
export { StoresMemory } from "../store/memory/MemoryStores.ts"
export { ClientStore } from "../store/ClientStore.ts"
export { HistoryStore } from "../store/HistoryStore.ts"
export { Inbox } from "../store/Inbox.ts"
export { builtinTools } from "../tools/builtin/index.ts"
export { defineTool, ToolFailure } from "../tools/Tool.ts"
export { defineCommand } from "../dialog/Command.ts"
export { builtinCommands } from "../dialog/builtinCommands.ts"
export { compareTranscripts, renderDifferences, ReplayMismatch, type TranscriptLine } from "../replay/Transcript.ts"
export { replay, type ReplayOptions, type ReplayResult } from "../replay/Replay.ts"
export { withFixedClock } from "../replay/FixedClock.ts"

export interface TestBotOptions<R = never> {
  /** Script of the scripted model (used unless `model` is given). */
  readonly script?: Script
  /** Another model layer, e.g. `LanguageModelOffline`. */
  readonly model?: Layer.Layer<LanguageModel, never, BotProfile> | "offline"
  /** Profile file (default: the bundled shop profile). */
  readonly profile?: string
  /** Tools (default: the built-in ones). */
  readonly tools?: ReadonlyArray<Tool<ToolEnvironment | R>>
  /** In-chat commands (default: the built-in ones). */
  readonly commands?: ReadonlyArray<Command<ToolEnvironment | R>>
  readonly telegram?: RecorderOptions
  readonly dialog?: Partial<DialogConfigShape>
  readonly toolConfig?: Partial<ToolsConfigShape>
  readonly dispatcher?: Partial<DispatcherConfigShape>
  readonly send?: Partial<SendConfigShape>
  /** Media settings (default: media are described to the model, nothing is fetched). */
  readonly media?: Partial<MediaConfigShape>
  /** Where files and transcripts come from (default: nowhere, every download and transcription fails). */
  readonly mediaServices?: Layer.Layer<TelegramFiles | Transcriber, never, MediaConfig>
  /** Streamed answers (drafts in private chats); the defaults when not given. */
  readonly stream?: Partial<StreamConfigShape>
  /** Human handoff settings; notice-only (no `HANDOFF_CHAT_ID`) when not given. */
  readonly handoff?: Partial<HandoffConfigShape>
  /** Budgets (`BUDGET_*`); none when not given. */
  readonly usage?: Partial<UsageConfigShape>
  /** Telegram Stars (`STARS_*`); off when not given. */
  readonly payments?: Partial<PaymentsConfigShape>
  /** The stores (default: `StoresMemory`), e.g. the memory stores with calls counted or failing. */
  readonly stores?: Layer.Layer<Stores>
}

export const defaultProfilePath = new URL("../../profiles/shop/profile.json", import.meta.url).pathname

/**
 * The whole bot on test layers. Provides every bot service plus `TelegramRecorder` and, with a
 * script, `ScriptedModel`. Extra services your tools need are provided by your own layers.
 */
export const testBot = <R = never>(options: TestBotOptions<R> = {}) => {
  const model = options.model === "offline"
    ? LanguageModelOffline
    : options.model ?? Layer.effect(LanguageModel, LanguageModel)
  // Services the bot provides to tools are not left as requirements; the rest (the team's own
  // services) must be provided by the test.
  const tools = (options.tools ?? builtinTools) as ReadonlyArray<Tool<ToolEnvironment | Exclude<R, ToolEnvironment>>>
  const commands = options.commands as ReadonlyArray<Command<ToolEnvironment | Exclude<R, ToolEnvironment>>> | undefined
  const core = botLayer<never, TelegramApi | LanguageModel | Exclude<R, ToolEnvironment>>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model,
    stores: options.stores ?? StoresMemory,
    profile: BotProfileFile(options.profile ?? defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
    tools,
    ...(commands === undefined ? {} : { commands }),
    dialogConfig: DialogConfig.make(options.dialog),
    usageConfig: UsageConfig.make(options.usage),
    paymentsConfig: PaymentsConfig.make(options.payments),
    toolsConfig: ToolsConfig.make(options.toolConfig),
    dispatcherConfig: DispatcherConfig.make(options.dispatcher),
    sendConfig: SendConfig.make({ backoffBase: Duration.millis(1), ...options.send }),
    media: MediaTurnWith.pipe(
      Layer.provide(Layer.merge(options.mediaServices ?? Layer.merge(TelegramFilesUnavailable, TranscriberUnavailable), DocumentTextLive)),
      Layer.provide(MediaConfig.make(options.media))
    ),
    // The recorder has no rich messages (as a Bot API before 10.1): answers go as text unless a test asks.
    streamConfig: StreamConfig.make({ richMessages: "off", ...options.stream }),
    handoffConfig: HandoffConfig.make(options.handoff)
  }).pipe(Layer.orDie)
  return core.pipe(
    Layer.provideMerge(Layer.merge(TelegramApiRecorder(options.telegram), LanguageModelScripted(options.script ?? {})))
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
  /** The user's Telegram app language (`from.language_code`, e.g. "ru" or "pt-BR"); none when not given. */
  readonly languageCode?: string
}

/** A `message` update with text, as Telegram sends it (private chat unless `chatId` differs). */
export const textMessage = (options: TextMessageOptions) => {
  const userId = options.userId ?? 42
  const chatId = options.chatId ?? userId
  return {
    update_id: options.updateId ?? nextUpdateId++,
    message: {
      message_id: nextMessageId++,
      from: {
        id: userId,
        is_bot: false,
        first_name: options.firstName ?? "Test",
        ...(options.languageCode === undefined ? {} : { language_code: options.languageCode })
      },
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

export interface ConversationOptions {
  /** Update id of the first message; the next ones count up from it (default: fresh ids). */
  readonly firstUpdateId?: number
  readonly chatId?: number
  readonly firstName?: string
}

/** One user's messages as `message` updates, in order: the input of one conversation. */
export const conversation = (userId: number, texts: ReadonlyArray<string>, options: ConversationOptions = {}) =>
  texts.map((text, i) =>
    textMessage({
      userId,
      text,
      ...(options.firstUpdateId === undefined ? {} : { updateId: options.firstUpdateId + i }),
      ...(options.chatId === undefined ? {} : { chatId: options.chatId }),
      ...(options.firstName === undefined ? {} : { firstName: options.firstName })
    })
  )

/** What the scripted model answers for one user message. */
export interface Turn {
  /** The stage the classifier answers. */
  readonly stage: string
  /** Replies of the think step, one per model call of the tool loop (default: one empty note). */
  readonly think?: ReadonlyArray<ScriptedReply>
  /** The final answer (or replies, when a test scripts a failed synthesis first). */
  readonly synthesize: ScriptedReply | ReadonlyArray<ScriptedReply>
}

/**
 * A script for the scripted model, one turn per user message, in order: each turn names the
 * stage it is classified into and what the think and synthesize steps answer in that stage.
 */
export const turns = (...all: ReadonlyArray<Turn>): Script => ({
  classify: all.map((t) => t.stage),
  think: all.flatMap((t) => t.think ?? [""]),
  synthesize: all.flatMap((t) => (Array.isArray(t.synthesize) ? t.synthesize : [t.synthesize as ScriptedReply]))
})

/** The bot's messages in the `replay --out` format: `{update_id, chat_id, text}`. */
export const transcript = transcriptLines

/** The requests the scripted model received, all or of one purpose, in order. */
export const modelRequests = (purpose?: Purpose) =>
  Effect.map(ScriptedModel, (model) => model.requests).pipe(
    Effect.flatten,
    Effect.map((all) => (purpose === undefined ? all : all.filter((r) => r.purpose === purpose)))
  )

/** The stage a think or synthesize request was made in (from its system prompt). */
export const stageOf = (request: CompletionRequest): string | undefined => {
  for (const m of request.messages) {
    if (m.role !== "system") continue
    const found = /Current dialog stage: ([a-z][a-z0-9_]*)/.exec(m.content)
    if (found?.[1] !== undefined) return found[1]
  }
  return undefined
}

/** The tool results a request carries, by call id, with their JSON content parsed. */
export const toolResults = (request: CompletionRequest): ReadonlyArray<{ readonly callId: string; readonly content: unknown }> =>
  request.messages.flatMap((m) =>
    m.role === "tool"
      ? [{ callId: m.toolCallId, content: Option.getOrElse(parseJsonText(m.content), () => m.content) }]
      : []
  )

const parseJsonText = Schema.decodeUnknownOption(Schema.parseJson())

/** The texts a transcript sent to one chat, in order. */
export const textsTo = (sent: ReadonlyArray<SentRecord>, chatId: number) =>
  sent.filter((m) => m.chatId === chatId).map((m) => m.text)

/** The update each message answers, or null. */
export const answeredUpdate = (record: SentRecord) => Option.getOrNull(record.updateId)
