/**
 * The public API of the bot for teams who build on it: define tools, load a profile, pick
 * layers and wire them with `botLayer`. The testing kit is its own entry point,
 * `effect-telegram-dialog-bot/testing`.
 *
 * ```ts
 * import { botLayer, builtinTools, defineTool } from "effect-telegram-dialog-bot"
 * ```
 */

// Tools: one file per tool, one line to register it.
export { defineTool, type Tool, type ToolContext, type ToolDefinition, ToolFailure } from "./tools/Tool.ts"
export { makeTools, type ToolResult, Tools, ToolsList, type ToolsService } from "./tools/Tools.ts"
export { builtinTools } from "./tools/builtin/index.ts"

// In-chat commands: defined like tools, given to the bot as `commands: [...builtinCommands, yours]`.
export { type Command, type CommandContext, CommandFailure, defineCommand } from "./dialog/Command.ts"
export { type CommandReply, Commands, CommandsList, type CommandsService, makeCommands } from "./dialog/Commands.ts"
export { builtinCommands, clearCommand, helpCommand, startCommand } from "./dialog/builtinCommands.ts"

// The bot's layer graph.
export { botLayer, type BotParts, type BotServices, StageToolsCheck, type Stores, type ToolEnvironment } from "./runtime/BotLayer.ts"
export { Dispatcher, DispatcherLive, type DispatcherService } from "./runtime/Dispatcher.ts"
export { Intake, IntakeClosed, type IntakeService, type ReceivedUpdate } from "./telegram/Intake.ts"
export { selectedModel, selectedProfile, selectedStores } from "./runtime/Environment.ts"
export { DialogPipeline, DialogPipelineLive, type Outcome } from "./dialog/DialogPipeline.ts"
export { DialogConfig, type DialogConfigShape } from "./dialog/DialogConfig.ts"
export { DispatcherConfig, type DispatcherConfigShape } from "./runtime/DispatcherConfig.ts"
export { SendConfig, type SendConfigShape } from "./telegram/SendConfig.ts"

// The profile.
export {
  BotProfile,
  type BotProfileData,
  BotProfileFile,
  checkStageTools,
  loadProfile,
  ProfileFile,
  type KnowledgeSection,
  Stage
} from "./profile/BotProfile.ts"

// Language models.
export {
  type ChatMessage,
  type CompletionRequest,
  type CompletionResponse,
  LanguageModel,
  LanguageModelError,
  type LanguageModelService,
  type Purpose,
  type ToolCall,
  type ToolSpec
} from "./llm/LanguageModel.ts"
export { LanguageModelOffline } from "./llm/OfflineModel.ts"
export { LanguageModelLive, LanguageModelOpenAi } from "./llm/OpenAiModel.ts"
export { LlmConfig } from "./llm/LlmConfig.ts"

// Stores.
export { ClientStore, type ClientStoreService } from "./store/ClientStore.ts"
export { HistoryStore, type HistoryStoreService } from "./store/HistoryStore.ts"
export { Inbox, type InboxService } from "./store/Inbox.ts"
export { ClientStoreMemory, HistoryStoreMemory, InboxMemory, StoresMemory } from "./store/memory/MemoryStores.ts"
export { StoresSqlite, StoresSqliteLive } from "./store/sqlite/SqliteStores.ts"

// Telegram.
export {
  type BotApiCall,
  type CallOptions,
  TelegramApi,
  TelegramApiError,
  type TelegramApiService,
  TelegramTransportError,
  type Transport
} from "./telegram/TelegramApi.ts"
export { fromTransport, retryPolicy } from "./telegram/BotApiCall.ts"
export { TelegramApiHttp, TelegramApiLive } from "./telegram/TelegramHttp.ts"
export { TelegramConfig } from "./telegram/TelegramConfig.ts"
export { Messenger, MessengerLive } from "./telegram/Messenger.ts"
export { decodeUpdate, decodeUpdateJson, Message, TelegramId, Update, User } from "./domain/Update.ts"

// Errors shared across services.
export { ConfigurationError, StoreError } from "./domain/errors.ts"

// Recording and replay.
export {
  makeUpdateRecorder,
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
export { replay } from "./replay/Replay.ts"
export { fixedClock, withFixedClock } from "./replay/FixedClock.ts"
