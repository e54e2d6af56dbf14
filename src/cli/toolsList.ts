/**
 * What `tools list` runs (src/cli/toolsCommand.ts), imported when it runs: every tool the bot
 * would offer the model, with the stages of the profile that may use each, and the state of
 * each MCP server.
 */
import { Console, Effect } from "effect"
import type { ToolSpec } from "../llm/LanguageModel.ts"
import type { Stage } from "../profile/BotProfile.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { offlineBot } from "../replay/OfflineBot.ts"
import { StoresMemory } from "../store/memory/MemoryStores.ts"
import { HealthReports } from "../telegram/Health.ts"
import { TelegramApiRecorder } from "../telegram/TelegramRecorder.ts"
import { builtinTools } from "../tools/builtin/index.ts"
import { allows, Tools } from "../tools/Tools.ts"

export interface ToolsListing {
  readonly tools: ReadonlyArray<ToolSpec>
  readonly stages: ReadonlyArray<Stage>
  /** Name prefixes of the MCP servers (`crm__`). */
  readonly prefixes: ReadonlyArray<string>
  /** Each MCP server's state, as `/healthz` shows it. */
  readonly servers: Readonly<Record<string, unknown>>
}

const builtinNames: ReadonlySet<string> = new Set(builtinTools.map((tool) => tool.name))

const sourceOf = (name: string, prefixes: ReadonlyArray<string>): string => {
  if (builtinNames.has(name)) return "built-in"
  const prefix = prefixes.find((p) => name.startsWith(p))
  return prefix === undefined ? "bot" : `mcp:${prefix.slice(0, -2)}`
}

const isRecord = (value: unknown): value is Readonly<Record<string, unknown>> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

const stateText = (state: unknown): string => {
  if (typeof state !== "object" || state === null || !("state" in state)) return String(state)
  const parts = [String(state.state)]
  if ("tools" in state) parts.push(`(${String(state.tools)} tools)`)
  if ("reason" in state) parts.push(`: ${String(state.reason)}`)
  return parts.join(" ").replace(" :", ":")
}

/** The listing as a table: tool, source, the stages that may use it (`-` for none), the first line of its description. */
export const renderToolsListing = (listing: ToolsListing): string => {
  const rows = listing.tools.map((tool) => [
    tool.name,
    sourceOf(tool.name, listing.prefixes),
    listing.stages.filter((stage) => allows(stage.tools, tool.name)).map((stage) => stage.id).join(",") || "-",
    tool.description.split("\n")[0] ?? ""
  ])
  const table = [["TOOL", "SOURCE", "STAGES", "DESCRIPTION"], ...rows]
  const widths = [0, 1, 2].map((column) => Math.max(...table.map((row) => row[column]!.length)))
  const lines = table.map((row) => row.map((cell, column) => column < 3 ? cell.padEnd(widths[column]!) : cell).join("  ").trimEnd())
  const servers = Object.entries(listing.servers).map(([name, state]) => `  ${name}: ${stateText(state)}`)
  return [...lines, ...(servers.length === 0 ? [] : ["", "MCP servers:", ...servers])].join("\n")
}

/** The listing printed, on the offline bot with memory stores (MCP servers started for it). */
export const listTools = Effect.gen(function*() {
  const tools = yield* Tools
  const profile = yield* BotProfile
  const { parts } = yield* HealthReports
  const servers: unknown = parts["mcp"] === undefined ? {} : yield* parts["mcp"]
  yield* Console.log(renderToolsListing({
    tools: yield* tools.all,
    stages: profile.stages,
    prefixes: tools.prefixes,
    servers: isRecord(servers) ? servers : {}
  }))
}).pipe(Effect.provide(offlineBot({ telegram: TelegramApiRecorder(), stores: StoresMemory })))
