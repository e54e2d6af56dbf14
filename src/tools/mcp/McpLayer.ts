/**
 * The MCP servers `MCP_CONFIG` names, as a source of the tool registry. Nothing happens without
 * the setting; with it, the file is checked (a broken file fails the start: a configuration
 * error) and only then is the MCP SDK imported (`McpTools.ts`), so that a bot without MCP
 * servers never loads it, nor express and hono it brings.
 */
import { type ConfigError, Effect, Layer } from "effect"
import type { ConfigurationError } from "../../domain/errors.ts"
import { MediaConfig } from "../../media/MediaConfig.ts"
import { ToolsConfig } from "../ToolsConfig.ts"
import { configuredMcpServers, type McpServerSpec } from "./McpConfig.ts"

/**
 * The tools of `servers`; `ToolSources` and `HealthReports` (typed away: both have a default)
 * are provided when there is at least one server. Settings: `TOOL_TIMEOUT`, `VISION`.
 */
export const McpToolsOf = (servers: ReadonlyArray<McpServerSpec>): Layer.Layer<never, ConfigError.ConfigError, ToolsConfig> =>
  servers.length === 0 ? Layer.empty : Layer.unwrapEffect(Effect.gen(function*() {
    const { toolTimeout } = yield* ToolsConfig
    const media = yield* MediaConfig.config
    const { McpToolsLive } = yield* Effect.promise(() => import("./McpTools.ts"))
    return McpToolsLive(servers, { toolTimeout, vision: media.vision && !media.describeOnly })
  }))

/** The MCP servers of `MCP_CONFIG`, none when it is not set. */
export const McpToolsFromEnv: Layer.Layer<never, ConfigurationError | ConfigError.ConfigError, ToolsConfig> = Layer
  .unwrapEffect(Effect.map(configuredMcpServers, McpToolsOf))
