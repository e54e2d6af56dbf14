/**
 * A fake OpenAI-compatible endpoint for the benchmarks: POST /v1/chat/completions answers
 * after a fixed latency. Classification answers the default stage; other calls answer with
 * the user's last message quoted, so the reply identifies the update it answers.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

interface ChatRequest {
  readonly model?: string
  readonly messages?: ReadonlyArray<{ readonly role: string; readonly content?: string | null }>
}

export interface FakeOpenAi {
  readonly url: string
  readonly calls: () => number
  readonly close: () => Promise<void>
}

export const startFakeOpenAi = async (latencyMs: number): Promise<FakeOpenAi> => {
  let calls = 0
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      calls++
      let body: ChatRequest = {}
      try {
        body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as ChatRequest
      } catch {
        body = {}
      }
      const messages = body.messages ?? []
      const system = messages[0]?.content ?? ""
      const lastUser = [...messages].reverse().find((m) => m.role === "user")?.content ?? ""
      const content = system.startsWith("Classify") || /Answer with one of/.test(system) ? "general" : `answer to: ${lastUser}`
      const payload = JSON.stringify({
        id: `chatcmpl-${calls}`,
        object: "chat.completion",
        created: Math.floor(Date.now() / 1000),
        model: body.model ?? "bench",
        choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content } }],
        usage: { prompt_tokens: 50, completion_tokens: 10, total_tokens: 60 }
      })
      setTimeout(() => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
        res.end(payload)
      }, latencyMs)
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/v1`,
    calls: () => calls,
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
