/**
 * A fake Bot API for the benchmarks: every method answers `ok`, at once or after `latencyMs`
 * (a round trip to the real Bot API); sendMessage is recorded with the time it arrived, so
 * the bench can tell when every reply was delivered and check each chat's order.
 */
import * as http from "node:http"
import type { AddressInfo } from "node:net"

export interface Delivered {
  readonly chatId: number
  readonly text: string
  readonly at: number
}

export interface FakeBotApi {
  readonly url: string
  readonly delivered: Array<Delivered>
  readonly otherCalls: () => number
  /** Resolves when `count` messages were delivered (or the timeout passed). */
  readonly waitFor: (count: number, timeoutMs: number) => Promise<boolean>
  readonly reset: () => void
  readonly close: () => Promise<void>
}

export const startFakeBotApi = async (latencyMs = 0): Promise<FakeBotApi> => {
  const delivered: Array<Delivered> = []
  let other = 0
  let waiter: { count: number; resolve: (ok: boolean) => void } | undefined
  let messageId = 0
  const server = http.createServer((req, res) => {
    const chunks: Array<Buffer> = []
    req.on("data", (c: Buffer) => chunks.push(c))
    req.on("end", () => {
      const method = (req.url ?? "").split("/").at(-1) ?? ""
      let result: unknown = true
      if (method === "sendMessage") {
        let body: { chat_id?: number | string; text?: string } = {}
        try {
          body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as typeof body
        } catch {
          body = {}
        }
        delivered.push({ chatId: Number(body.chat_id), text: String(body.text ?? ""), at: performance.now() })
        result = { message_id: ++messageId, date: Math.floor(Date.now() / 1000), chat: { id: Number(body.chat_id), type: "private" } }
        if (waiter && delivered.length >= waiter.count) {
          waiter.resolve(true)
          waiter = undefined
        }
      } else {
        other++
        if (method === "getMe") result = { id: 1, is_bot: true, first_name: "Bench", username: "bench_bot" }
      }
      const payload = JSON.stringify({ ok: true, result })
      const answer = () => {
        res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(payload) })
        res.end(payload)
      }
      if (latencyMs > 0) setTimeout(answer, latencyMs)
      else answer()
    })
  })
  server.keepAliveTimeout = 60_000
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    delivered,
    otherCalls: () => other,
    waitFor: (count, timeoutMs) =>
      delivered.length >= count ? Promise.resolve(true) : new Promise((resolve) => {
        const timer = setTimeout(() => {
          waiter = undefined
          resolve(false)
        }, timeoutMs)
        waiter = {
          count,
          resolve: (ok) => {
            clearTimeout(timer)
            resolve(ok)
          }
        }
      }),
    reset: () => {
      delivered.length = 0
      other = 0
    },
    close: () => new Promise((resolve) => {
      server.closeAllConnections()
      server.close(() => resolve())
    })
  }
}
