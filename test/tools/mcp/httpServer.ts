/** An MCP server on Streamable HTTP at 127.0.0.1 (`port`, a free one by default) for as long as the scope lasts. */
import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js"
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js"
import { randomUUID } from "node:crypto"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Effect } from "effect"

export const serveOverHttp = (server: McpServer, port = 0) =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: () => randomUUID() })
      await server.connect(transport)
      const http = createServer((request, response) => {
        transport.handleRequest(request, response).catch(() => response.destroy())
      })
      await new Promise<void>((resolve) => http.listen(port, "127.0.0.1", resolve))
      const address = http.address() as AddressInfo
      return { url: `http://127.0.0.1:${address.port}/mcp`, port: address.port, http }
    }),
    ({ http }) =>
      Effect.promise(async () => {
        await server.close()
        http.closeAllConnections()
        await new Promise<void>((resolve) => http.close(() => resolve()))
      })
  )
