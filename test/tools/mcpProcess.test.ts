/**
 * `dialog-bot tools list` as a process, with every module it loads recorded: without
 * `MCP_CONFIG` the MCP SDK (and the express and hono it brings) is never loaded; with it, the
 * MCP servers' tools are listed with the stages that may use them; a broken file is exit 2.
 */
import { describe, expect, it } from "@effect/vitest"
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { Effect } from "effect"

const root = fileURLToPath(new URL("../..", import.meta.url))
const recordLoads = fileURLToPath(new URL("./mcp/recordLoads.mjs", import.meta.url))
const stdioServer = fileURLToPath(new URL("./mcp/stdioServer.ts", import.meta.url))
const shopProfile = join(root, "profiles/shop/profile.json")

interface Run {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
  /** URLs of the modules the process loaded. */
  readonly loaded: ReadonlyArray<string>
}

/** `tools list` in a process of its own with `env` added. */
const toolsList = (env: Record<string, string>) =>
  Effect.async<Run>((resume) => {
    const dir = mkdtempSync(join(tmpdir(), "tools-list-"))
    const loads = join(dir, "loads.txt")
    writeFileSync(loads, "")
    execFile(
      process.execPath,
      ["--import", "tsx", "--import", recordLoads, "src/main.ts", "tools", "list"],
      { cwd: root, env: { ...process.env, ...env, RECORD_LOADS: loads, LOG_LEVEL: "error" } },
      (error, stdout, stderr) =>
        resume(Effect.succeed({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : -1,
          stdout,
          stderr,
          loaded: readFileSync(loads, "utf8").split("\n").filter((line) => line !== "")
        }))
    )
  })

const tempFile = (name: string, text: string): string => {
  const path = join(mkdtempSync(join(tmpdir(), "mcp-config-")), name)
  writeFileSync(path, text)
  return path
}

const mcpModules = (run: Run) => run.loaded.filter((url) => /@modelcontextprotocol|\/node_modules\/(express|hono)\//.test(url))

describe("tools list", () => {
  it.live("without MCP_CONFIG: the built-in tools, and the MCP SDK never loaded", () =>
    Effect.gen(function*() {
      const run = yield* toolsList({})
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(/^get_client_profile +built-in +general,delivery,payment,support,account +Returns what the shop knows/m)
      expect(run.stdout).not.toContain("MCP servers:")
      // The recording works: the bot's own modules are in it.
      expect(run.loaded.some((url) => url.endsWith("/src/tools/Tools.ts"))).toBe(true)
      expect(mcpModules(run)).toEqual([])
    }), 120_000)

  it.live("with MCP_CONFIG: each server's tools with the stages that may use them, and the servers' states", () =>
    Effect.gen(function*() {
      const profile = JSON.parse(readFileSync(shopProfile, "utf8")) as {
        stages: Array<{ id: string; tools: Array<string> }>
        knowledgeBase: string
      }
      profile.stages[0]!.tools.push("files__*")
      profile.knowledgeBase = join(root, "profiles/shop", profile.knowledgeBase)
      const config = {
        mcpServers: {
          files: { command: process.execPath, args: ["--import", "tsx", stdioServer] },
          gone: { url: "http://127.0.0.1:9/mcp" }
        }
      }
      const run = yield* toolsList({
        BOT_PROFILE: tempFile("profile.json", JSON.stringify(profile)),
        MCP_CONFIG: tempFile("mcp.json", JSON.stringify(config))
      })
      expect(run.code).toBe(0)
      expect(run.stdout).toMatch(new RegExp(`^files__echo +mcp:files +${profile.stages[0]!.id} +Says the text back\\.$`, "m"))
      expect(run.stdout).toContain("MCP servers:\n  files: ready (7 tools)\n  gone: failing:")
      expect(mcpModules(run).length).toBeGreaterThan(0)
    }), 120_000)

  it.live("a broken MCP_CONFIG file is a configuration error naming the file and the field (exit 2)", () =>
    Effect.gen(function*() {
      const file = tempFile("mcp.json", JSON.stringify({ mcpServers: { crm: { url: "ftp://crm.example" } } }))
      const run = yield* toolsList({ MCP_CONFIG: file })
      expect(run.code).toBe(2)
      expect(run.stderr).toContain(`${file}: MCP_CONFIG: invalid MCP servers file: mcpServers.crm.url: expected an http(s) URL`)
      expect(mcpModules(run)).toEqual([])
    }), 120_000)
})
