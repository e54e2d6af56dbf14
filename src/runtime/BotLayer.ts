/**
 * The layer graph of the bot. Entry points pick the edges — which Telegram, which model, which
 * stores, which tools — and this module wires the rest the same way for all of them, so the
 * pipeline and the dispatcher never know which layers they run on.
 */
import { type ConfigError, Context, Effect, Layer } from "effect"
import { DialogConfig } from "../dialog/DialogConfig.ts"
import { DispatcherConfig } from "./DispatcherConfig.ts"
import { SendConfig } from "../telegram/SendConfig.ts"
import { StreamConfig } from "../telegram/StreamConfig.ts"
import { StreamingReplies, StreamingRepliesLive } from "../telegram/StreamingReplies.ts"
import type { ConfigurationError, StoreError } from "../domain/errors.ts"
import { builtinCommands } from "../dialog/builtinCommands.ts"
import type { Command } from "../dialog/Command.ts"
import { Addressing, AddressingLive } from "../dialog/Addressing.ts"
import { Business, BusinessLive } from "../dialog/Business.ts"
import { Commands, CommandsList } from "../dialog/Commands.ts"
import { DialogPipeline, DialogPipelineLive } from "../dialog/DialogPipeline.ts"
import { RunningTurns, RunningTurnsLive } from "../dialog/RunningTurns.ts"
import type { LanguageModel } from "../llm/LanguageModel.ts"
import { BotProfile, checkStageTools } from "../profile/BotProfile.ts"
import type { Stores } from "../store/Stores.ts"
import { MediaTurn, MediaTurnLive } from "../media/MediaTurn.ts"
import { BotIdentity, BotIdentityLive } from "../telegram/BotIdentity.ts"
import { EphemeralMessages, EphemeralMessagesLive } from "../telegram/EphemeralMessages.ts"
import { Messenger, MessengerLive } from "../telegram/Messenger.ts"
import type { Intake } from "../telegram/Intake.ts"
import type { TelegramApi } from "../telegram/TelegramApi.ts"
import { builtinTools } from "../tools/builtin/index.ts"
import type { Tool } from "../tools/Tool.ts"
import { Tools, ToolsList } from "../tools/Tools.ts"
import { ToolsConfig } from "../tools/ToolsConfig.ts"
import { McpToolsFromEnv } from "../tools/mcp/McpLayer.ts"
import { Handoff, HandoffLive } from "../handoff/Handoff.ts"
import { HandoffConfig } from "../handoff/HandoffConfig.ts"
import { instrumentStores } from "../store/Instrumented.ts"
import type { FeedbackStore } from "../store/FeedbackStore.ts"
import { guardStoreContext } from "../store/StoreOutages.ts"
import { withPendingDeliveries } from "../store/PendingDeliveries.ts"
import { Inbox } from "../store/Inbox.ts"
import { Outages, OutagesWith } from "../effect/Outages.ts"
import type { ChatQueue } from "./ChatQueue.ts"
import { Dispatcher, DispatcherLive, DispatcherWithQueue } from "./Dispatcher.ts"
import type { UpdateRunner } from "./UpdateRunner.ts"
import { PaymentsConfig } from "../payments/PaymentsConfig.ts"
import { UsageConfig } from "../usage/UsageConfig.ts"
import type { UsageLedger } from "../usage/UsageLedger.ts"

export type { Stores }

/** Services every tool and command handler may use. */
export type ToolEnvironment =
  | Stores
  | BotProfile
  | DialogConfig
  | ToolsConfig
  | TelegramApi
  | Handoff
  | HandoffConfig
  | UsageConfig
  | PaymentsConfig
  | EphemeralMessages

export interface BotParts<E, R> {
  readonly telegram: Layer.Layer<TelegramApi, E, R>
  readonly model: Layer.Layer<LanguageModel, E, R | BotProfile>
  readonly stores: Layer.Layer<Stores, E, R>
  readonly profile: Layer.Layer<BotProfile, E, R>
  /** Tools the model may call; the built-in ones when not given. */
  readonly tools?: ReadonlyArray<Tool<ToolEnvironment | R>>
  /** In-chat commands answered without the model; the built-in ones when not given. */
  readonly commands?: ReadonlyArray<Command<ToolEnvironment | R>>
  /** Tools from MCP servers (`McpToolsOf`); the servers of `MCP_CONFIG` when not given. */
  readonly mcp?: Layer.Layer<never, E | ConfigurationError | ConfigError.ConfigError, R | ToolsConfig>
  readonly dialogConfig?: Layer.Layer<DialogConfig, E, R>
  readonly toolsConfig?: Layer.Layer<ToolsConfig, E, R>
  readonly dispatcherConfig?: Layer.Layer<DispatcherConfig, E, R>
  readonly sendConfig?: Layer.Layer<SendConfig, E, R>
  /** The media step (files, transcription, documents); `MediaTurnLive` (settings from the environment) when not given. */
  readonly media?: Layer.Layer<MediaTurn, E, R | BotProfile | Stores | TelegramApi>
  /** The chats' queues; in this process (`ChatQueueInProcess`) when not given. */
  readonly queue?: Layer.Layer<ChatQueue, E, R | UpdateRunner | Stores | DispatcherConfig | RunningTurns>
  readonly streamConfig?: Layer.Layer<StreamConfig, E, R>
  /** The human handoff's settings (`HANDOFF_CHAT_ID`…); read from the environment when not given. */
  readonly handoffConfig?: Layer.Layer<HandoffConfig, E, R>
  readonly usageConfig?: Layer.Layer<UsageConfig, E, R>
  readonly paymentsConfig?: Layer.Layer<PaymentsConfig, E, R>
  /** Where feedback on answers is kept; in the stores (`stores`) when not given. */
  readonly feedback?: Layer.Layer<FeedbackStore, E, R>
}

export type BotServices =
  | Outages
  | Dispatcher
  | Intake
  | DialogPipeline
  | Messenger
  | Tools
  | Commands
  | Addressing
  | Business
  | BotIdentity
  | LanguageModel
  | BotProfile
  | Stores
  | TelegramApi
  | DialogConfig
  | ToolsConfig
  | DispatcherConfig
  | SendConfig
  | MediaTurn
  | StreamConfig
  | StreamingReplies
  | Handoff
  | HandoffConfig
  | FeedbackStore
  | RunningTurns

/** Fails at start when a stage of the profile allows a tool that is not registered. */
export const StageToolsCheck = Layer.effectDiscard(
  Effect.flatMap(Effect.all([BotProfile, Tools]), ([profile, tools]) => checkStageTools(profile, tools.names, tools.prefixes))
)

/** The whole bot from its parts. Settings not given are read from the environment. */
export const botLayer = <E, R>(
  parts: BotParts<E, R>
): Layer.Layer<BotServices, E | ConfigurationError | ConfigError.ConfigError | StoreError, R> => {
  // The dependencies' breakers, with the patience of OUTAGE_PATIENCE (effect/Outages.ts).
  const dispatcherConfig: Layer.Layer<DispatcherConfig, E | ConfigError.ConfigError, R> = parts.dispatcherConfig ??
    DispatcherConfig.fromEnv
  const outages = Layer.provideMerge(
    Layer.unwrapEffect(Effect.map(DispatcherConfig, (config) => OutagesWith(config.outagePatience))),
    dispatcherConfig
  )
  // Every store call gets a span and metrics, whatever the layers (Bot API calls get theirs on
  // their call path, telegram/BotApiCall.ts), and goes through the store's breaker: a store
  // that does not answer is waited out by the turns, not hammered by them.
  // A delivery record the store does not take waits in memory (store/PendingDeliveries.ts).
  const stores = Layer.flatMap(
    instrumentStores(parts.stores),
    (context) =>
      Layer.scopedContext(Effect.gen(function*() {
        const guarded = guardStoreContext(context, (yield* Outages).store)
        const inbox = yield* withPendingDeliveries(Context.get(guarded, Inbox))
        return Context.add(guarded, Inbox, inbox)
      }))
  )
  const base = Layer.mergeAll(
    parts.telegram,
    Layer.provideMerge(stores, outages),
    parts.profile,
    parts.dialogConfig ?? DialogConfig.fromEnv,
    parts.toolsConfig ?? ToolsConfig.fromEnv,
    parts.sendConfig ?? SendConfig.fromEnv,
    parts.streamConfig ?? StreamConfig.fromEnv,
    parts.handoffConfig ?? HandoffConfig.fromEnv,
    parts.usageConfig ?? UsageConfig.fromEnv,
    parts.paymentsConfig ?? PaymentsConfig.fromEnv,
    parts.feedback ?? Layer.empty,
    RunningTurnsLive
  )
  const withModel = Layer.provideMerge(Layer.merge(HandoffLive, EphemeralMessagesLive), Layer.provideMerge(parts.model, base))
  const tools: ReadonlyArray<Tool<ToolEnvironment | R>> = parts.tools ?? builtinTools
  const withMcp = Layer.provideMerge(parts.mcp ?? McpToolsFromEnv, withModel)
  const withTools = Layer.provideMerge(StageToolsCheck, Layer.provideMerge(ToolsList(tools), withMcp))
  const commands: ReadonlyArray<Command<ToolEnvironment | R>> = parts.commands ?? builtinCommands
  const withCommands = Layer.provideMerge(CommandsList(commands), withTools)
  const media: Layer.Layer<MediaTurn, E | ConfigError.ConfigError, R | BotProfile | Stores | TelegramApi> = parts.media ??
    MediaTurnLive
  const withMedia = Layer.provideMerge(media, withCommands)
  const withIdentity = Layer.provideMerge(
    Layer.merge(AddressingLive, BusinessLive),
    Layer.provideMerge(BotIdentityLive, withMedia)
  )
  const withMessenger = Layer.provideMerge(MessengerLive, withIdentity)
  const withReplies = Layer.provideMerge(StreamingRepliesLive, withMessenger)
  const withPipeline = Layer.provideMerge(DialogPipelineLive, withReplies)
  return Layer.provideMerge(parts.queue === undefined ? DispatcherLive : DispatcherWithQueue(parts.queue), withPipeline)
}
