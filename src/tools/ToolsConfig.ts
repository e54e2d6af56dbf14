/** Settings of the tools: the deadline of one call and where handoff requests go. */
import { Config } from "effect"
import { duration, Settings } from "../config.ts"

export const ToolsConfigSchema = Config.all({
  /** Deadline of one tool call. */
  toolTimeout: duration("TOOL_TIMEOUT", "10 seconds"),
  /** Chat that receives handoff requests, if any. */
  adminChatId: Config.option(Config.number("ADMIN_CHAT_ID"))
})
export type ToolsConfigShape = Config.Config.Success<typeof ToolsConfigSchema>

export class ToolsConfig extends Settings<ToolsConfig>()("dialog-bot/ToolsConfig", ToolsConfigSchema) {}
