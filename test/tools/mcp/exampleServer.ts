/**
 * A small MCP server on the SDK's server side, for the tests of MCP tools: `echo` (text), `sum`
 * (structured content), `picture` (an image), `broken` (a tool error), `slow` (answers only
 * when cancelled), `pid` (which process answers) and, when the server may die, `crash`.
 */
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { z } from "zod"

/** A 1×1 PNG. */
export const pixelPng = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="

export interface ExampleServerHooks {
  /** Told when `slow` starts and when its request is cancelled. */
  readonly onSlowStarted?: () => void
  readonly onSlowCancelled?: (reason: unknown) => void
  /** `crash` is offered when given. */
  readonly crash?: () => void
}

export const exampleServer = (hooks: ExampleServerHooks = {}): McpServer => {
  const server = new McpServer({ name: "example", version: "1.0.0" })
  server.registerTool(
    "echo",
    { description: "Says the text back.", inputSchema: { text: z.string().describe("what to say") } },
    ({ text }) => ({ content: [{ type: "text", text: `echo: ${text}` }] })
  )
  server.registerTool(
    "sum",
    {
      description: "Adds two numbers.",
      inputSchema: { a: z.number(), b: z.number() },
      outputSchema: { sum: z.number() }
    },
    ({ a, b }) => ({ content: [{ type: "text", text: JSON.stringify({ sum: a + b }) }], structuredContent: { sum: a + b } })
  )
  server.registerTool(
    "picture",
    { description: "A tiny picture." },
    () => ({ content: [{ type: "text", text: "a pixel" }, { type: "image", mimeType: "image/png", data: pixelPng }] })
  )
  server.registerTool(
    "broken",
    { description: "Always fails." },
    () => ({ isError: true, content: [{ type: "text", text: "the order system is down" }] })
  )
  server.registerTool(
    "slow",
    { description: "Answers only when cancelled." },
    (extra) =>
      new Promise((resolve) => {
        hooks.onSlowStarted?.()
        extra.signal.addEventListener("abort", () => {
          hooks.onSlowCancelled?.(extra.signal.reason)
          resolve({ content: [{ type: "text", text: "cancelled" }] })
        })
      })
  )
  server.registerTool("pid", { description: "The server's process id." }, () => ({
    content: [{ type: "text", text: String(process.pid) }]
  }))
  const crash = hooks.crash
  if (crash !== undefined) {
    server.registerTool("crash", { description: "Ends the server's process." }, () => {
      crash()
      return { content: [] }
    })
  }
  return server
}
