/**
 * Every owner of the bot's environment variables, in the order the settings are documented.
 * Each variable has exactly one owner (src/config.ts says how an owner is written); an owner
 * that reads a variable through another's `Config` names that one in `through`. The tests
 * walk this list against `--help`, `.env.example` and the settings table of the docs.
 */
import type { SettingsOwner } from "../config.ts"
import { ClusterConfig } from "../cluster/ClusterConfig.ts"
import { CompactionConfig } from "../dialog/CompactionConfig.ts"
import { DialogConfig } from "../dialog/DialogConfig.ts"
import { HandoffConfig } from "../handoff/HandoffConfig.ts"
import { LlmConfig } from "../llm/LlmConfig.ts"
import { MediaConfig } from "../media/MediaConfig.ts"
import { MetricsServerConfig } from "../observability/MetricsServer.ts"
import { TraceSettings } from "../observability/TraceSettings.ts"
import { TracingConfig } from "../observability/Tracing.ts"
import { PaymentsConfig } from "../payments/PaymentsConfig.ts"
import { DispatcherConfig } from "../runtime/DispatcherConfig.ts"
import { LoggingConfig } from "../runtime/Logging.ts"
import { StoreConfig } from "../store/StoreConfig.ts"
import { SendConfig } from "../telegram/SendConfig.ts"
import { StreamConfig } from "../telegram/StreamConfig.ts"
import { AllowedUpdates, PollConfig, TelegramConfig, WebhookConfig } from "../telegram/TelegramConfig.ts"
import { McpConfig } from "../tools/mcp/McpConfig.ts"
import { ToolsConfig } from "../tools/ToolsConfig.ts"
import { UsageConfig } from "../usage/UsageConfig.ts"
import { ReplayConfig } from "./replayCommand.ts"

export interface RegisteredOwner {
  readonly owner: SettingsOwner
  /** Owners whose variables this one reads through their `Config` (they own them). */
  readonly through?: ReadonlyArray<SettingsOwner>
}

export const settingsOwners: ReadonlyArray<RegisteredOwner> = [
  { owner: DialogConfig },
  { owner: CompactionConfig },
  { owner: ToolsConfig },
  { owner: McpConfig },
  { owner: HandoffConfig },
  { owner: UsageConfig },
  { owner: PaymentsConfig, through: [TelegramConfig] },
  { owner: DispatcherConfig },
  { owner: LlmConfig },
  { owner: TelegramConfig },
  { owner: AllowedUpdates },
  { owner: PollConfig, through: [AllowedUpdates] },
  { owner: SendConfig },
  { owner: MediaConfig, through: [LlmConfig] },
  { owner: StreamConfig },
  { owner: WebhookConfig, through: [AllowedUpdates] },
  { owner: LoggingConfig },
  { owner: StoreConfig },
  { owner: ClusterConfig },
  { owner: MetricsServerConfig },
  { owner: TracingConfig },
  { owner: TraceSettings },
  { owner: ReplayConfig }
]

/**
 * Variables documented with the settings that the bot does not read itself: the libraries it
 * uses do (the OTLP exporter reads its headers).
 */
export const readByLibraries: ReadonlyArray<string> = ["OTEL_EXPORTER_OTLP_HEADERS"]
