/**
 * The bench side of a system under test, run in its own process: it tells the parent its
 * port when ready and answers requests for its own figures (event-loop delay, CPU time)
 * measured from the last `reset`.
 *
 * With `BENCH_CPU_PROF=<dir>` the process also takes a CPU profile of exactly that window (from
 * `reset` to `stats`, so start-up and tsx's compilation stay out of it) and writes it to
 * `<dir>/<system>-<pid>-<n>.cpuprofile`; `npx tsx bench/profileSummary.ts <file>` prints
 * its top entries.
 */
import { writeFileSync } from "node:fs"
import { Session } from "node:inspector"
import { join } from "node:path"
import { monitorEventLoopDelay } from "node:perf_hooks"
import { resetWhere, steps, stepsWhere } from "./steps.ts"

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
  /** The process's peak resident memory so far. */
  readonly maxRssMb: number
  /** Effect's runtime steps since the reset (with BENCH_COUNT_STEPS=1; 0 otherwise). */
  readonly steps: number
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

/** The CPU profile of the measured window, when `BENCH_CPU_PROF` names a directory. */
const profiler = (dir: string | undefined) => {
  if (dir === undefined || dir === "") return { start: () => undefined, stop: (then: () => void) => then() }
  const session = new Session()
  session.connect()
  let running = false
  let n = 0
  return {
    start: () => {
      if (running) session.post("Profiler.stop")
      session.post("Profiler.enable")
      session.post("Profiler.setSamplingInterval", { interval: 200 })
      session.post("Profiler.start")
      running = true
    },
    /** Writes the profile, then `then()`: before the figures go to the parent, which may end a process without a SIGTERM handler at once. */
    stop: (then: () => void) => {
      if (!running) return then()
      running = false
      session.post("Profiler.stop", (error, result) => {
        if (error === null) {
          const file = join(dir, `${(process.env.BENCH_SYSTEM ?? "bot").replace(/[^\w.-]/g, "_")}-${process.pid}-${++n}.cpuprofile`)
          writeFileSync(file, JSON.stringify(result.profile))
          process.stderr.write(`CPU profile written to ${file}\n`)
        }
        then()
      })
    }
  }
}

export const serveBench = (ready: Ready): void => {
  const histogram = monitorEventLoopDelay({ resolution: 5 })
  histogram.enable()
  const profile = profiler(process.env.BENCH_CPU_PROF)
  let cpu = process.cpuUsage()
  let stepsAtReset = 0
  let windows = 0
  process.on("message", (message: ParentMessage) => {
    if (message.type === "reset") {
      histogram.reset()
      profile.start()
      stepsAtReset = steps.count
      resetWhere()
      cpu = process.cpuUsage()
    } else if (message.type === "stats") {
      const used = process.cpuUsage(cpu)
      const reply: ChildMessage = {
        type: "stats",
        eventLoopP99Ms: histogram.percentile(99) / 1e6,
        eventLoopMaxMs: histogram.max / 1e6,
        cpuMs: (used.user + used.system) / 1000,
        rssMb: process.memoryUsage().rss / 1024 / 1024,
        maxRssMb: process.resourceUsage().maxRSS / 1024,
        steps: steps.count - stepsAtReset
      }
      profile.stop(() => process.send?.(reply))
      const counted = stepsWhere()
      if (counted.length > 0 && process.env.BENCH_STEPS_FILE !== undefined) {
        // One file per measured window: <file>-<system>-<pid>-<n>.
        const file = `${process.env.BENCH_STEPS_FILE}-${(process.env.BENCH_SYSTEM ?? "bot").replace(/[^\w.-]/g, "_")}-${process.pid}-${++windows}`
        writeFileSync(file, counted.map(([key, n]) => `${n}\t${key}`).join("\n"))
        process.stderr.write(`steps by place written to ${file}\n`)
      }
    }
  })
  const message: ChildMessage = { type: "ready", ...ready }
  process.send?.(message)
}
