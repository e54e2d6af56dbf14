/**
 * The bench side of a system under test, run in its own process: it tells the parent its
 * port when ready and answers requests for its own figures (event-loop delay, CPU time)
 * measured from the last `reset`.
 */
import { monitorEventLoopDelay } from "node:perf_hooks"

export interface Ready {
  readonly port: number
  readonly path: string
  readonly headers?: Record<string, string>
}

export interface ChildStats {
  readonly eventLoopP99Ms: number
  readonly eventLoopMaxMs: number
  readonly cpuMs: number
  readonly rssMb: number
}

export type ParentMessage = { readonly type: "reset" } | { readonly type: "stats" }
export type ChildMessage = ({ readonly type: "ready" } & Ready) | ({ readonly type: "stats" } & ChildStats)

export const env = (name: string, fallback?: string): string => {
  const value = process.env[name] ?? fallback
  if (value === undefined) {
    process.stderr.write(`missing ${name}\n`)
    process.exit(2)
  }
  return value
}

export const serveBench = (ready: Ready): void => {
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  histogram.enable()
  let cpu = process.cpuUsage()
  process.on("message", (message: ParentMessage) => {
    if (message.type === "reset") {
      histogram.reset()
      cpu = process.cpuUsage()
    } else if (message.type === "stats") {
      const used = process.cpuUsage(cpu)
      const reply: ChildMessage = {
        type: "stats",
        eventLoopP99Ms: histogram.percentile(99) / 1e6,
        eventLoopMaxMs: histogram.max / 1e6,
        cpuMs: (used.user + used.system) / 1000,
        rssMb: process.memoryUsage().rss / 1024 / 1024
      }
      process.send?.(reply)
    }
  })
  const message: ChildMessage = { type: "ready", ...ready }
  process.send?.(message)
}
