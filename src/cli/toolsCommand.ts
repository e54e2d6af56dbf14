/**
 * `tools list`: every tool the bot would offer the model — built-in, the bot's own, and those of
 * the MCP servers `MCP_CONFIG` names (started for the listing) — with the stages of the profile
 * that may use each, and the state of each MCP server (src/cli/toolsList.ts, imported when the
 * command runs).
 */
import { Command } from "@effect/cli"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"

const listCommand = Command.make("list", {}, () => withModule(() => import("./toolsList.ts"), (tools) => tools.listTools)).pipe(
  Command.withDescription(describeCommand(
    "Print every tool the bot would offer the model (built-in, the bot's own, MCP servers') and the stages that may use each.",
    ["BOT_PROFILE", "MCP_CONFIG", "TOOL_TIMEOUT"]
  ))
)

export const toolsCommand = Command.make("tools").pipe(
  Command.withDescription(describeCommand("The tools the model may call.", ["BOT_PROFILE", "MCP_CONFIG"])),
  Command.withSubcommands([listCommand])
)
