/**
 * The load generator: POSTs webhook updates over a fixed number of keep-alive connections,
 * each connection sending its next update when the previous one was acknowledged, and
 * records every acknowledgement's latency.
 */
import * as http from "node:http"

export interface LoadResult {
  readonly ackLatenciesMs: ReadonlyArray<number>
  readonly statuses: Record<number, number>
  readonly startedAt: number
  readonly finishedAt: number
}

/** `count` text updates from `users` users; user u's k-th message says "#k". */
export const makeUpdates = (count: number, users: number, firstUpdateId = 1): ReadonlyArray<string> =>
  Array.from({ length: count }, (_, i) => {
    const user = 1_000_000_000 + (i % users) * 7919 // ids spread well above 2^31
    const k = Math.floor(i / users) + 1
    return JSON.stringify({
      update_id: firstUpdateId + i,
      message: {
        message_id: i + 1,
        from: { id: user, is_bot: false, first_name: `User${i % users}` },
        chat: { id: user, type: "private" },
        date: 1_764_300_000 + i,
        text: `question #${k} from user ${i % users}`
      }
    })
  })

export const runLoad = async (
  target: { readonly port: number; readonly path: string; readonly headers?: Record<string, string> },
  bodies: ReadonlyArray<string>,
  connections: number
): Promise<LoadResult> => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections })
  const latencies: Array<number> = []
  const statuses: Record<number, number> = {}
  let next = 0
  const post = (body: string) =>
    new Promise<void>((resolve) => {
      const started = performance.now()
      const req = http.request(
        {
          host: "127.0.0.1",
          port: target.port,
          path: target.path,
          method: "POST",
          agent,
          headers: { "content-type": "application/json", "content-length": Buffer.byteLength(body), ...target.headers }
        },
        (res) => {
          res.resume()
          res.on("end", () => {
            latencies.push(performance.now() - started)
            statuses[res.statusCode ?? 0] = (statuses[res.statusCode ?? 0] ?? 0) + 1
            resolve()
          })
        }
      )
      req.on("error", () => {
        statuses[0] = (statuses[0] ?? 0) + 1
        resolve()
      })
      req.end(body)
    })
  const worker = async () => {
    while (next < bodies.length) {
      const body = bodies[next++]!
      await post(body)
    }
  }
  const startedAt = performance.now()
  await Promise.all(Array.from({ length: connections }, worker))
  const finishedAt = performance.now()
  agent.destroy()
  return { ackLatenciesMs: latencies, statuses, startedAt, finishedAt }
}
