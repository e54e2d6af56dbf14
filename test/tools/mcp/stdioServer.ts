/** The example MCP server over stdio, as a process of its own: `node --import tsx test/tools/mcp/stdioServer.ts`. */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { exampleServer } from "./exampleServer.ts"

const server = exampleServer({ crash: () => process.exit(3) })
await server.connect(new StdioServerTransport())
