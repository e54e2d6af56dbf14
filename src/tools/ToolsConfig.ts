/** Settings of the tools: the deadline of one call. Where handoff requests go is `HandoffConfig`'s. */
import { Config } from "effect"
import { duration, Settings } from "../config.ts"

export const ToolsConfigSchema = Config.all({
  /** Deadline of one tool call. */
  toolTimeout: duration("TOOL_TIMEOUT", "10 seconds")
})
export type ToolsConfigShape = Config.Config.Success<typeof ToolsConfigSchema>

export class ToolsConfig extends Settings<ToolsConfig>()("dialog-bot/ToolsConfig", ToolsConfigSchema) {}
