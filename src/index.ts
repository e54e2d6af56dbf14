/**
 * The public API of the bot for teams who build on it: services and the layers that provide
 * them, the definition helpers for tools, commands and settings, and the bot's layer graph.
 * Internals (constructors behind the layers, wire formats, retry schedules) stay private so
 * they can change. The testing kit is its own entry point, `effect-telegram-dialog-bot/testing`;
 * the command line for a team's bot (`runBot`) is `effect-telegram-dialog-bot/cli`.
 *
 * ```ts
 * import { botLayer, builtinTools, defineTool } from "effect-telegram-dialog-bot"
 * ```
 *
 * Layers follow one naming scheme: `<Service>Live` reads its settings from the environment;
 * `<Service><Impl>` is one implementation (`StoresSqlite`, `TelegramApiHttp`,
 * `LanguageModelOffline`), a function when it takes arguments.
 */

// ── The bot ───────────────────────────────────────────────────────────────────────────────────
export { botLayer, type BotParts, type BotServices, type Stores, type ToolEnvironment } from "./runtime/BotLayer.ts"
export { selectedModel, selectedProfile, selectedStores } from "./runtime/Environment.ts"
// A team's bot for the command line (`runBot` in the `./cli` entry).
export { type BotDefinition, BotServicesFailed } from "./runtime/BotDefinition.ts"

// Tools: one file per tool, one line to register it.
export { defineTool, type Tool, type ToolContext, type ToolDefinition, ToolFailure, ToolOutput } from "./tools/Tool.ts"
export { allows, type ToolResult, Tools, ToolSources, type ToolSource, ToolsList, type ToolsService } from "./tools/Tools.ts"
export { builtinTools } from "./tools/builtin/index.ts"
export { ToolsConfig, type ToolsConfigShape } from "./tools/ToolsConfig.ts"
// Tools from MCP servers (MCP_CONFIG, or given as `botLayer({ mcp: McpToolsOf(servers) })`); the SDK loads only then.
export { loadMcpServers, McpConfig, type McpServerSpec } from "./tools/mcp/McpConfig.ts"
export { McpToolsFromEnv, McpToolsOf } from "./tools/mcp/McpLayer.ts"

// In-chat commands: defined like tools, given to the bot as `commands: [...builtinCommands, yours]`.
export { type Command, type CommandContext, CommandFailure, defineCommand } from "./dialog/Command.ts"
export { type CommandReply, Commands, CommandsList, type CommandsService } from "./dialog/Commands.ts"
export { builtinCommands, clearCommand, helpCommand, startCommand } from "./dialog/builtinCommands.ts"

// The dialog and the runtime around it.
export { DialogPipeline, DialogPipelineLive, type DialogPipelineService, type Outcome } from "./dialog/DialogPipeline.ts"
export { DialogConfig, type DialogConfigShape } from "./dialog/DialogConfig.ts"
export { Addressing, type AddressedBy, addressedBy, AddressingLive, speakerName } from "./dialog/Addressing.ts"
export { Business, BusinessLive, type BusinessService } from "./dialog/Business.ts"
// Human handoff: a colleague's topic per customer in HANDOFF_CHAT_ID (docs/features.md, Human handoff).
export { Handoff, HandoffLive, type HandoffRequest, type HandoffService, type HandoffStart } from "./handoff/Handoff.ts"
export { HandoffConfig, type HandoffConfigShape } from "./handoff/HandoffConfig.ts"
export { HandoffRecord, type HandoffRecords } from "./handoff/HandoffRecords.ts"
export { humanCommand } from "./dialog/humanCommand.ts"
export { type Conversation, conversationKey, conversationOf, type ConversationRef } from "./domain/Conversation.ts"
export { BusinessConnection } from "./domain/BusinessConnection.ts"
export { Dispatcher, DispatcherLive, type DispatcherService, DispatcherWithQueue } from "./runtime/Dispatcher.ts"
export { ChatQueue, ChatQueueInProcess, type ChatQueueService } from "./runtime/ChatQueue.ts"
export { DeadlineExceeded } from "./runtime/Deadline.ts"
export { type UpdateJob, UpdateRunner, UpdateRunnerLive, type UpdateRunnerService } from "./runtime/UpdateRunner.ts"
export { DispatcherConfig, type DispatcherConfigShape } from "./runtime/DispatcherConfig.ts"
export { Settings } from "./config.ts"

// ── The profile ───────────────────────────────────────────────────────────────────────────────
export { BotProfile, type BotProfileData, BotProfileFile, type KnowledgeSection, loadProfile, Stage } from "./profile/BotProfile.ts"

// ── Language models ───────────────────────────────────────────────────────────────────────────
export {
  type ChatMessage,
  type CompletionRequest,
  type CompletionResponse,
  LanguageModel,
  LanguageModelError,
  type LanguageModelService,
  type OnText,
  type Purpose,
  type ToolCall,
  type ToolSpec
} from "./llm/LanguageModel.ts"
export { LanguageModelOffline } from "./llm/OfflineModel.ts"
export { LanguageModelLive, LanguageModelOpenAi } from "./llm/OpenAiLayers.ts"
export { LlmConfig, type LlmConfigShape } from "./llm/LlmConfig.ts"
export type { ImagePart, UserMedia } from "./llm/LanguageModel.ts"

// ── Media: voice notes, photos and documents ──────────────────────────────────────────────────
export { MediaTurn, MediaTurnLive, type MediaTurnService, MediaTurnWith, TranscriberLive, type Turn } from "./media/MediaTurn.ts"
export { MediaConfig, type MediaConfigShape } from "./media/MediaConfig.ts"
export { FileTooLarge, FileUnavailable, TelegramFiles, TelegramFilesHttp, TelegramFilesLive, TelegramFilesUnavailable } from "./media/TelegramFiles.ts"
export { Transcriber, TranscriberUnavailable, TranscriptionError } from "./media/Transcriber.ts"
export { TranscriberOpenAi } from "./media/OpenAiTranscriberLayers.ts"
export { DocumentText, DocumentTextLive, DocumentUnreadable } from "./media/DocumentText.ts"

// ── Stores ────────────────────────────────────────────────────────────────────────────────────
export { ClientStore, type ClientStoreService } from "./store/ClientStore.ts"
export { HistoryStore, type HistoryStoreService } from "./store/HistoryStore.ts"
export { Inbox, type InboxService } from "./store/Inbox.ts"
export { StoresLive, StoresPostgres, StoresPostgresLive, StoresYdb, StoresYdbLive } from "./store/Stores.ts"
export {
  ClientStoreMemory,
  ConversationStateMemory,
  HistoryStoreMemory,
  InboxMemory,
  StoresMemory
} from "./store/memory/MemoryStores.ts"
export { StoresSqlite, StoresSqliteLive } from "./store/sqlite/SqliteStores.ts"
export { InstanceLease } from "./store/InstanceLease.ts"
export { ConversationState, type ConversationStateService } from "./store/ConversationState.ts"
export { mapStores } from "./store/Instrumented.ts"

// ── Telegram ──────────────────────────────────────────────────────────────────────────────────
export {
  type BotApiCall,
  type CallOptions,
  TelegramApi,
  TelegramApiError,
  type TelegramApiService,
  type TelegramError,
  TelegramTransportError,
  type Transport
} from "./telegram/TelegramApi.ts"
export { fromTransport } from "./telegram/BotApiCall.ts"
export { TelegramApiHttp, TelegramApiLive } from "./telegram/TelegramHttp.ts"
export { PollConfig, TelegramConfig, WebhookConfig } from "./telegram/TelegramConfig.ts"
export { SendConfig, type SendConfigShape } from "./telegram/SendConfig.ts"
export { Messenger, MessengerLive, type MessengerService, RecipientBlocked } from "./telegram/Messenger.ts"
export { BotIdentity, BotIdentityFixed, BotIdentityLive, type BotIdentityService } from "./telegram/BotIdentity.ts"
export { StreamConfig, type StreamConfigShape } from "./telegram/StreamConfig.ts"
export { type AnswerStream, StreamingReplies, StreamingRepliesLive, type StreamingRepliesService } from "./telegram/StreamingReplies.ts"
export { type FormattedText, type TextEntity } from "./telegram/format/FormattedText.ts"
export { type MarkdownRenderer, markdownRenderer } from "./telegram/format/markdown.ts"
export { splitFormatted, splitText } from "./telegram/splitText.ts"
export { showWords, streamCompletion } from "./llm/streaming.ts"
export { Intake, IntakeClosed, type IntakeService, type ReceivedUpdate } from "./telegram/Intake.ts"
export { WebhookServerLive } from "./telegram/WebhookServer.ts"
export { runPoller } from "./telegram/Poller.ts"
export { decodeUpdate, decodeUpdateJson, Message, TelegramId, Update, User } from "./domain/Update.ts"

// ── Errors shared across services ─────────────────────────────────────────────────────────────
export { ConfigurationError, StoreError } from "./domain/errors.ts"

// ── Recording and replay ──────────────────────────────────────────────────────────────────────
export {
  RecordingError,
  redactUpdateJson,
  UpdateRecorder,
  UpdateRecorderFile,
  UpdateRecorderOff,
  type UpdateRecorderService
} from "./replay/UpdateRecorder.ts"
export { redactUpdate } from "./replay/Redaction.ts"
export {
  compareTranscripts,
  type ExpectMode,
  parseTranscript,
  readTranscript,
  renderDifferences,
  ReplayMismatch,
  type TranscriptDifference,
  TranscriptFileError,
  type TranscriptLine
} from "./replay/Transcript.ts"
export { replay, type ReplayOptions, type ReplayResult } from "./replay/Replay.ts"
export { withFixedClock } from "./replay/FixedClock.ts"
