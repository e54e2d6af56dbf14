/**
 * `npx tsx bench/startup.ts`: start-up of this bot against grammY on this machine, in one run.
 * Each row is the median of BENCH_STARTUP_RUNS (3) runs, one process at a time:
 *
 *   --help         `node bin/dialog-bot.mjs --help` to its exit
 *   demo replay    `node bin/dialog-bot.mjs` without a token: the bundled conversation replayed
 *   serve listening  `dialog-bot serve` against a fake Bot API until its port accepts a connection
 *   serve ready      the same process until `/readyz` answers 200 (the bot built, updates taken)
 *   serve idle       the same process 2 s after ready: its resident set then (`VmRSS`) in "idle RSS MB"
 *   grammY           `import("grammy")` and `new Bot(token)` to exit
 *
 * Time is wall clock from spawn; peak RSS is the child's own `maxRSS` and CPU its user + system
 * time to its exit (bench/support/peakRss.mjs): on a shared machine the CPU column is the one
 * to compare (a busy neighbour stretches the wall clock, not the work).
 * The three serve rows come from the same processes (the serve's peak RSS is that of the run).
 * STARTUP_BIN=/path/to/bin/dialog-bot.mjs measures another checkout of the bot (a before figure).
 * `npm run bench` runs the same rows (`measureStartup`) after its other scenarios.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import * as Net from "node:net"
import * as os from "node:os"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { pathToFileURL } from "node:url"
import { benchToken, startFakeBotApi } from "./support/fakes.ts"

const here = new URL(".", import.meta.url).pathname
const bin = process.env["STARTUP_BIN"] ?? new URL("../bin/dialog-bot.mjs", import.meta.url).pathname
const runs = Number(process.env["STARTUP_RUNS"] ?? process.env["BENCH_STARTUP_RUNS"] ?? 3)
const preload = join(here, "support/peakRss.mjs")
/** The processes run in the bot's checkout (its relative default paths are there). */
const cwd = join(dirname(bin), "..")
const grammyPath = createRequire(import.meta.url).resolve("grammy")

interface Sample {
  readonly ms: number
  readonly rssMb: number
  readonly cpuMs: number
}

/** A serve process: when its port accepted, when `/readyz` said 200, its idle and peak resident sets. */
interface ServeSample {
  readonly listenMs: number
  readonly readyMs: number
  readonly idleRssMb: number
  readonly rssMb: number
  readonly cpuMs: number
}

/** The process's resident set now (`VmRSS` of /proc/PID/status), in MB. */
const residentMb = (pid: number) =>
  Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? Number.NaN) / 1024

/** Whether `GET /readyz` on `port` answers 200. */
const ready = (port: number) =>
  fetch(`http://127.0.0.1:${port}/readyz`).then((response) => response.status === 200, () => false)

const idleWait = 2_000

/** A free port on 127.0.0.1. */
const freePort = () =>
  new Promise<number>((resolve) => {
    const server = Net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as Net.AddressInfo
      server.close(() => resolve(port))
    })
  })

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => (socket.destroy(), resolve(true)))
    socket.once("error", () => resolve(false))
  })

/**
 * One process: `args` with `env`, timed until it exits or, with `readyPort`, until that port
 * accepts, then until `/readyz` answers 200, then its resident set after `idleWait` (then it
 * is stopped with SIGTERM); its peak RSS read when it has exited.
 */
const measureIn = async (
  scratch: string,
  args: ReadonlyArray<string>,
  env: Record<string, string>,
  readyPort?: number
): Promise<ServeSample> => {
  const rssFile = join(scratch, `rss-${Math.random().toString(36).slice(2)}`)
  const started = performance.now()
  const child = spawn(process.execPath, ["--import", preload, ...args], {
    cwd,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", PEAK_RSS_FILE: rssFile, ...env },
    stdio: ["ignore", "ignore", "pipe"]
  })
  let stderr = ""
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)))
  const until = async (done: () => Promise<boolean>) => {
    while (!(await done())) {
      if (child.exitCode !== null) throw new Error(`${args.join(" ")} exited ${child.exitCode}: ${stderr}`)
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    return performance.now() - started
  }
  let listenMs: number
  let readyMs = Number.NaN
  let idleRssMb = Number.NaN
  if (readyPort === undefined) {
    const code = await exited
    listenMs = performance.now() - started
    if (code !== 0) throw new Error(`${args.join(" ")} exited ${code}: ${stderr}`)
  } else {
    listenMs = await until(() => accepts(readyPort))
    readyMs = await until(() => ready(readyPort))
    await new Promise((resolve) => setTimeout(resolve, idleWait))
    idleRssMb = residentMb(child.pid!)
    child.kill("SIGTERM")
    await exited
  }
  const [maxRss = Number.NaN, cpuMicros = Number.NaN] = readFileSync(rssFile, "utf8").split(" ").map(Number)
  return { listenMs, readyMs, idleRssMb, rssMb: maxRss / 1024, cpuMs: cpuMicros / 1000 }
}

const median = (values: ReadonlyArray<number>) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

const samplesOf = async <S>(sample: () => Promise<S>) => {
  const samples: Array<S> = []
  for (let i = 0; i < runs; i++) samples.push(await sample())
  return samples
}

const rowOf = (name: string, samples: ReadonlyArray<Sample>) => ({
  name,
  ms: Math.round(median(samples.map((s) => s.ms))),
  peakRssMb: Math.round(median(samples.map((s) => s.rssMb))),
  cpuMs: Math.round(median(samples.map((s) => s.cpuMs)))
})

const row = async (name: string, sample: () => Promise<Sample>) => rowOf(name, await samplesOf(sample))

export interface StartupRow {
  readonly name: string
  readonly ms: number
  readonly peakRssMb: number
  /** User + system CPU time of the process to its exit (for serve: to its stop after idling). */
  readonly cpuMs: number
  /** The serve's resident set 2 s after it is ready (the serve rows only). */
  readonly idleRssMb?: number
  readonly "× grammY time": string
  readonly "× grammY RSS": string
  readonly "× grammY CPU": string
}

/** The rows, each the median of `runs` processes, one at a time; ratios to grammY's row. */
export const measureStartup = async (): Promise<ReadonlyArray<StartupRow>> => {
  const botApi = await startFakeBotApi()
  const scratch = mkdtempSync(join(os.tmpdir(), "startup-"))
  const measure = (args: ReadonlyArray<string>, env: Record<string, string>) =>
    measureIn(scratch, args, env).then((s): Sample => ({ ms: s.listenMs, rssMb: s.rssMb, cpuMs: s.cpuMs }))
  try {
    const grammy = await row("grammY: import + new Bot", () =>
      measure(["-e", `const { Bot } = require(${JSON.stringify(grammyPath)}); new Bot(${JSON.stringify(benchToken)})`], {}))
    const help = await row("dialog-bot --help", () => measure([bin, "--help"], {}))
    const demo = await row("dialog-bot (demo replay)", () => measure([bin], { STORE: "memory" }))
    const serves = await samplesOf(async () => {
      const port = await freePort()
      return measureIn(scratch, [bin, "serve"], {
        TELEGRAM_BOT_TOKEN: benchToken,
        TELEGRAM_API_BASE_URL: botApi.url,
        WEBHOOK_ALLOW_NO_SECRET: "true",
        PORT: String(port),
        STORE: "memory"
      }, port)
    })
    const idleRssMb = Math.round(median(serves.map((s) => s.idleRssMb)))
    const listening = { ...rowOf("dialog-bot serve listening", serves.map((s) => ({ ms: s.listenMs, rssMb: s.rssMb, cpuMs: s.cpuMs }))), idleRssMb }
    const serveReady = { ...rowOf("dialog-bot serve ready", serves.map((s) => ({ ms: s.readyMs, rssMb: s.rssMb, cpuMs: s.cpuMs }))), idleRssMb }
    return [grammy, help, demo, listening, serveReady].map((r) => ({
      ...r,
      "× grammY time": (r.ms / grammy.ms).toFixed(1),
      "× grammY RSS": (r.peakRssMb / grammy.peakRssMb).toFixed(1),
      "× grammY CPU": (r.cpuMs / grammy.cpuMs).toFixed(1)
    }))
  } finally {
    await botApi.close()
    rmSync(scratch, { recursive: true, force: true })
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const rows = await measureStartup()
  const load = os.loadavg().map((l) => l.toFixed(2)).join(" ")
  console.log(`start-up, median of ${runs} (${os.cpus().length} cores, ${os.cpus()[0]?.model ?? "?"}, load ${load}, node ${process.version})`)
  console.log("row                            ms   peak RSS MB   CPU ms   × grammY time   × grammY RSS   × grammY CPU   idle RSS MB")
  for (const r of rows) {
    console.log(
      `${r.name.padEnd(28)} ${String(r.ms).padStart(6)} ${String(r.peakRssMb).padStart(12)} ${String(r.cpuMs).padStart(8)} ${r["× grammY time"].padStart(14)} ${r["× grammY RSS"].padStart(14)} ${r["× grammY CPU"].padStart(14)} ${String(r.idleRssMb ?? "-").padStart(13)}`
    )
  }
  console.log(JSON.stringify({ startup: rows, load: os.loadavg(), bin }))
}
