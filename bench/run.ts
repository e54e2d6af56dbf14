/**
 * `npm run bench`: every scenario on this machine in one run, printed as a table and one JSON
 * line, with the figures and an SVG chart written to bench/latest.json and bench/w1.svg. Each system under test runs in its own
 * process; the load generator and the stand-ins (fake OpenAI endpoint, fake Bot API) run in
 * this one, over real HTTP on 127.0.0.1.
 *
 *   W1       2,000 webhook updates from 500 users over 64 keep-alive connections (once more on
 *            SQLite with the Bot API answering after 50 ms: `effect-sqlite@50ms`)
 *   intake   updates/s accepted with no dialog work behind the webhook
 *   overhead CPU per update through the whole pipeline with zero-latency stand-ins
 *   startup  `dialog-bot --help`, the demo replay, `serve` listening and ready (and its idle RSS) against grammY (bench/startup.ts)
 *
 * Options: BENCH_ONLY=name,name (systems; `overhead` and `startup` for those rows), BENCH_UPDATES (2000), BENCH_USERS (500),
 * BENCH_CONNECTIONS (64), BENCH_MODEL_LATENCY_MS (100), BENCH_STORE_LATENCY_MS (5),
 * BENCH_BOTAPI_LATENCY_MS (0, the Bot API's round trip in W1), BENCH_INTAKE_UPDATES (20000),
 * BENCH_OVERHEAD_UPDATES (10000), BENCH_COUNT_STEPS=1 (this bot counts effect's runtime steps
 * per update: a figure that does not change from run to run; the run's timings are not the
 * bot's then; BENCH_COUNT_STEPS=where with BENCH_STEPS_FILE=<file> also writes them by kind and
 * by the code each step runs, most frequent first), BENCH_BOT_NODE_FLAGS (node flags of this bot's processes, those of `npm start`
 * by default), BENCH_SOURCES=1 (this bot from src/ through tsx rather than from the build, which
 * run.ts makes first). The bots' own settings (e.g. TELEGRAM_SENDS_IN_DOUBT) pass through the environment.
 */
import { type ChildProcess, execFileSync, fork } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import * as os from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { renderChart } from "./support/chart.ts"
import type { ChildMessage, ChildStats, Ready } from "./support/child.ts"
import { startFakeBotApi, startFakeOpenAi } from "./support/fakes.ts"
import { makeUpdates, runLoad } from "./support/loadgen.ts"
import { botNodeFlags } from "./support/nodeFlags.ts"
import { round, summarize } from "./support/stats.ts"
import { measureStartup } from "./startup.ts"

const here = dirname(fileURLToPath(import.meta.url))
const num = (name: string, fallback: number) => Number(process.env[name] ?? fallback)
const updates = num("BENCH_UPDATES", 2000)
const users = num("BENCH_USERS", 500)
const connections = num("BENCH_CONNECTIONS", 64)
const modelLatency = num("BENCH_MODEL_LATENCY_MS", 100)
const storeLatency = num("BENCH_STORE_LATENCY_MS", 5)
const botApiLatency = num("BENCH_BOTAPI_LATENCY_MS", 0)
const intakeUpdates = num("BENCH_INTAKE_UPDATES", 20_000)
const overheadUpdates = num("BENCH_OVERHEAD_UPDATES", 10_000)
const only = process.env.BENCH_ONLY?.split(",").map((s) => s.trim())
/** BENCH_COUNT_STEPS=1: this bot counts effect's runtime steps per update (bench/support/steps.ts). */
const counting = process.env.BENCH_COUNT_STEPS === "1" || process.env.BENCH_COUNT_STEPS === "where"

interface System {
  readonly name: string
  readonly script: string
  readonly env?: Record<string, string>
  readonly describe: string
  /** The fake Bot API's round trip in this row (BENCH_BOTAPI_LATENCY_MS otherwise). */
  readonly botApiLatencyMs?: number
}

const effectBot = "systems/effectBot.ts"
const w1Systems: ReadonlyArray<System> = [
  { name: "effect-sqlite", script: effectBot, env: { BENCH_STORE: "sqlite" }, describe: "this bot, SQLite store (file, WAL)" },
  { name: "effect-sqlite@50ms", script: effectBot, env: { BENCH_STORE: "sqlite" }, botApiLatencyMs: 50, describe: "this bot, SQLite store, the Bot API answering after a 50 ms round trip" },
  { name: "effect-memory+5ms", script: effectBot, env: { BENCH_STORE: "latency" }, describe: `this bot, memory store + ${storeLatency} ms async delay per store call` },
  { name: "blocking+5ms", script: effectBot, env: { BENCH_STORE: "blocking" }, describe: `the same pipeline, store calls blocking the event loop ${storeLatency} ms each (the original design)` },
  { name: "grammy+5ms", script: "systems/grammy.ts", describe: `grammY webhookCallback, same dialog as plain async code, ${storeLatency} ms async delay per store call` },
  { name: "floor+5ms", script: "systems/floorBot.ts", describe: `the floor: node:http, per-chat promise chains, no durability or retries, ${storeLatency} ms async delay per store call` }
]
const intakeSystems: ReadonlyArray<System> = [
  { name: "effect-memory", script: effectBot, env: { BENCH_STORE: "memory", BENCH_NOOP: "1" }, describe: "this bot's webhook, memory inbox, no dialog" },
  { name: "effect-sqlite", script: effectBot, env: { BENCH_STORE: "sqlite", BENCH_NOOP: "1" }, describe: "this bot's webhook, SQLite inbox, no dialog" },
  { name: "plain-node", script: "systems/plainNode.ts", describe: "node:http, JSON.parse only" },
  { name: "grammy-noop", script: "systems/grammy.ts", env: { BENCH_NOOP: "1" }, describe: "grammY webhookCallback, no-op handler" }
]
const selected = <S extends System>(list: ReadonlyArray<S>) => list.filter((s) => !only || only.includes(s.name))

interface Running {
  readonly child: ChildProcess
  readonly ready: Ready
  readonly tmp: string
}

const start = (system: System, extraEnv: Record<string, string>): Promise<Running> => {
  const tmp = mkdtempSync(join(os.tmpdir(), "bench-"))
  const child = fork(join(here, system.script), [], {
    execArgv: [...(system.script === effectBot ? botNodeFlags() : []), "--import", "tsx"],
    env: {
      ...process.env,
      ...extraEnv,
      ...system.env,
      BENCH_TMP: tmp,
      BENCH_SYSTEM: system.name,
      BENCH_STORE_LATENCY_MS: String(storeLatency),
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? "error"
    },
    stdio: ["ignore", "inherit", "inherit", "ipc"]
  })
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${system.name} did not start`)), 60_000)
    child.once("exit", (code) => reject(new Error(`${system.name} exited with ${code}`)))
    child.on("message", (message: ChildMessage) => {
      if (message.type === "ready") {
        clearTimeout(timer)
        resolve({ child, ready: message, tmp })
      }
    })
  })
}

const statsOf = (child: ChildProcess): Promise<ChildStats> =>
  new Promise((resolve) => {
    const onMessage = (message: ChildMessage) => {
      if (message.type === "stats") {
        child.off("message", onMessage)
        resolve(message)
      }
    }
    child.on("message", onMessage)
    child.send({ type: "stats" })
  })

const stop = async (running: Running) => {
  running.child.removeAllListeners("exit")
  const exited = new Promise((resolve) => running.child.once("exit", resolve))
  running.child.kill("SIGTERM")
  const timer = setTimeout(() => running.child.kill("SIGKILL"), 15_000)
  await exited
  clearTimeout(timer)
  rmSync(running.tmp, { recursive: true, force: true })
}

/** Each chat's replies must carry #1, #2, … in order, none missing or doubled. */
const checkOrder = (delivered: ReadonlyArray<{ chatId: number; text: string }>, perChat: number, chats: number) => {
  const byChat = new Map<number, Array<number>>()
  for (const d of delivered) {
    const k = Number(/#(\d+)/.exec(d.text)?.[1] ?? Number.NaN)
    byChat.set(d.chatId, [...(byChat.get(d.chatId) ?? []), k])
  }
  let bad = 0
  for (const ks of byChat.values()) {
    if (ks.length !== perChat || ks.some((k, i) => k !== i + 1)) bad++
  }
  bad += Math.max(0, chats - byChat.size)
  // A reply without its question's number is not an answer (the apology, for instance).
  const unanswered = delivered.filter((d) => !/#\d+/.test(d.text)).length
  return { ok: bad === 0, badChats: bad, unanswered }
}

interface W1Result {
  readonly system: string
  readonly describe: string
  readonly ackP50Ms: number
  readonly ackP99Ms: number
  readonly ackMaxMs: number
  readonly eventLoopP99Ms: number
  readonly completionS: number
  readonly repliesPerS: number
  readonly delivered: number
  readonly orderOk: boolean
  /** Replies that answer no question (apologies): they also break the order check. */
  readonly unanswered: number
  readonly botCpuMsPerUpdate: number
  /** The bot process's peak resident memory. */
  readonly peakRssMb: number
  /** Effect's runtime steps per update (BENCH_COUNT_STEPS=1 runs only). */
  readonly stepsPerUpdate?: number
  readonly non2xx: number
}

const runW1 = async (system: System): Promise<W1Result> => {
  const openAi = await startFakeOpenAi(modelLatency)
  const botApi = await startFakeBotApi(system.botApiLatencyMs ?? botApiLatency)
  const running = await start(system, { BENCH_OPENAI_URL: openAi.url, BENCH_BOTAPI_URL: botApi.url })
  try {
    running.child.send({ type: "reset" })
    const bodies = makeUpdates(updates, users)
    const load = await runLoad(running.ready, bodies, connections)
    const completed = await botApi.waitFor(updates, 600_000)
    const stats = await statsOf(running.child)
    const delivered = botApi.delivered()
    const last = delivered.at(-1)?.at ?? load.finishedAt
    const completionS = (last - load.startedAt) / 1000
    const ack = summarize(load.ackLatenciesMs)
    const order = checkOrder(delivered, Math.ceil(updates / users), Math.min(users, updates))
    const non2xx = Object.entries(load.statuses).filter(([code]) => Number(code) !== 200).reduce((n, [, c]) => n + c, 0)
    return {
      system: system.name,
      describe: system.describe,
      ackP50Ms: round(ack.p50),
      ackP99Ms: round(ack.p99),
      ackMaxMs: round(ack.max),
      eventLoopP99Ms: round(stats.eventLoopP99Ms),
      completionS: round(completionS, 2),
      repliesPerS: round(delivered.length / completionS, 0),
      delivered: delivered.length,
      orderOk: completed && order.ok,
      unanswered: order.unanswered,
      botCpuMsPerUpdate: round(stats.cpuMs / updates, 2),
      peakRssMb: round(stats.maxRssMb, 0),
      ...(stats.steps > 0 ? { stepsPerUpdate: round(stats.steps / updates, 0) } : {}),
      non2xx
    }
  } finally {
    await stop(running)
    await openAi.close()
    await botApi.close()
  }
}

interface IntakeResult {
  readonly system: string
  readonly describe: string
  readonly updatesPerS: number
  readonly ackP99Ms: number
  readonly cpuMsPerUpdate: number
  /** Effect's runtime steps per update (BENCH_COUNT_STEPS=1 runs only). */
  readonly stepsPerUpdate?: number
  readonly non2xx: number
}

const runIntake = async (system: System): Promise<IntakeResult> => {
  const botApi = await startFakeBotApi()
  const running = await start(system, { BENCH_OPENAI_URL: "http://127.0.0.1:9/v1", BENCH_BOTAPI_URL: botApi.url })
  try {
    // A short warm-up, then the measured run with fresh update ids.
    await runLoad(running.ready, makeUpdates(2000, users, 10_000_000), connections)
    running.child.send({ type: "reset" })
    const load = await runLoad(running.ready, makeUpdates(intakeUpdates, users, 20_000_000), connections)
    const stats = await statsOf(running.child)
    const seconds = (load.finishedAt - load.startedAt) / 1000
    const non2xx = Object.entries(load.statuses).filter(([code]) => Number(code) !== 200).reduce((n, [, c]) => n + c, 0)
    return {
      system: system.name,
      describe: system.describe,
      updatesPerS: round(intakeUpdates / seconds, 0),
      ackP99Ms: round(summarize(load.ackLatenciesMs).p99),
      cpuMsPerUpdate: round(stats.cpuMs / intakeUpdates, 3),
      ...(stats.steps > 0 ? { stepsPerUpdate: round(stats.steps / intakeUpdates, 0) } : {}),
      non2xx
    }
  } finally {
    await stop(running)
    await botApi.close()
  }
}

const runOverhead = (): Promise<{ readonly updates: number; readonly cpuMsPerUpdate: number; readonly wallS: number }> =>
  new Promise((resolve, reject) => {
    const child = fork(join(here, "systems/pipelineOverhead.ts"), [], {
      execArgv: [...botNodeFlags(), "--import", "tsx"],
      env: { ...process.env, BENCH_OVERHEAD_UPDATES: String(overheadUpdates), LOG_LEVEL: "error" },
      stdio: ["ignore", "inherit", "inherit", "ipc"]
    })
    child.on("message", (m: { updates: number; cpuMsPerUpdate: number; wallS: number }) => resolve(m))
    child.on("exit", (code) => code === 0 ? undefined : reject(new Error(`overhead run exited with ${code}`)))
  })

const table = <R extends object>(rows: ReadonlyArray<R>, columns: ReadonlyArray<string>) => {
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => String((r as Record<string, unknown>)[c]).length)))
  const line = (cells: ReadonlyArray<string>) => cells.map((c, i) => c.padEnd(widths[i]!)).join("  ")
  return [line(columns), line(widths.map((w) => "-".repeat(w))), ...rows.map((r) => line(columns.map((c) => String((r as Record<string, unknown>)[c]))))].join("\n")
}

const main = async () => {
  // This bot runs from dist/ (bench/systems/effectBot.ts): the build is brought up to date first.
  if (process.env.BENCH_SOURCES !== "1") execFileSync("npm", ["run", "--silent", "build"], { cwd: join(here, ".."), stdio: "inherit" })
  const machine = `${os.cpus()[0]?.model ?? "cpu"} × ${os.cpus().length}, ${round(os.totalmem() / 2 ** 30, 0)} GiB, Node ${process.version}, ${os.platform()} ${os.release()}`
  process.stderr.write(`machine: ${machine}\n`)
  const w1: Array<W1Result> = []
  for (const system of selected(w1Systems)) {
    process.stderr.write(`W1: ${system.name}…\n`)
    w1.push(await runW1(system))
  }
  const intake: Array<IntakeResult> = []
  for (const system of selected(intakeSystems)) {
    process.stderr.write(`intake: ${system.name}…\n`)
    intake.push(await runIntake(system))
  }
  const overhead = !only || only.includes("overhead") ? await runOverhead() : undefined
  if (!only || only.includes("startup")) process.stderr.write("start-up…\n")
  const startup = !only || only.includes("startup") ? await measureStartup() : undefined

  const blocking = w1.find((r) => r.system === "blocking+5ms")
  const grammy = w1.find((r) => r.system === "grammy+5ms")
  const floor = w1.find((r) => r.system === "floor+5ms")
  const cpuRatio = (r: W1Result, to: W1Result | undefined) => to ? `${round(r.botCpuMsPerUpdate / to.botCpuMsPerUpdate, 2)}×` : "-"
  const withRatios = w1.map((r) => ({
    ...r,
    "vs blocking (completion)": blocking ? `${round(blocking.completionS / r.completionS, 1)}×` : "-",
    "vs grammY (completion)": grammy ? `${round(grammy.completionS / r.completionS, 2)}×` : "-",
    "CPU/floor": cpuRatio(r, floor),
    "CPU/grammY": cpuRatio(r, grammy)
  }))
  console.log(`\nW1: ${updates} updates, ${users} users, ${connections} connections, model ${modelLatency} ms/call\n`)
  console.log(table(withRatios, [
    "system", "ackP50Ms", "ackP99Ms", "ackMaxMs", "eventLoopP99Ms", "completionS", "repliesPerS", "delivered", "orderOk", "unanswered",
    "botCpuMsPerUpdate", "CPU/floor", "CPU/grammY", "peakRssMb", "vs blocking (completion)", "vs grammY (completion)",
    ...(counting ? ["stepsPerUpdate"] : [])
  ]))
  console.log(`\nIntake: ${intakeUpdates} updates, no dialog work\n`)
  console.log(table(intake, ["system", "updatesPerS", "ackP99Ms", "cpuMsPerUpdate", "non2xx", ...(counting ? ["stepsPerUpdate"] : [])]))
  const sqlite = w1.find((r) => r.system === "effect-sqlite")
  const slowApi = w1.find((r) => r.system === "effect-sqlite@50ms")
  if (sqlite && slowApi) {
    console.log(`\nW1 on SQLite with a 50 ms Bot API round trip: completion ${slowApi.completionS} s, ${round(slowApi.completionS / sqlite.completionS, 2)}× the ${botApiLatency} ms run's ${sqlite.completionS} s`)
  }
  if (overhead) console.log(`\nPipeline overhead: ${overhead.cpuMsPerUpdate} ms CPU per update (${overhead.updates} updates replayed in ${overhead.wallS} s)`)
  if (startup) {
    console.log("\nStart-up (bench/startup.ts): median of three processes each\n")
    console.log(table(startup.map((r) => ({ ...r, idleRssMb: r.idleRssMb ?? "-" })), ["name", "ms", "peakRssMb", "cpuMs", "× grammY time", "× grammY RSS", "× grammY CPU", "idleRssMb"]))
  }
  const figures = { date: new Date().toISOString(), machine, w1, intake, overhead, startup }
  console.log(`\n${JSON.stringify(figures)}`)
  // Next to bench/README.md, which quotes them.
  writeFileSync(join(here, "latest.json"), `${JSON.stringify(figures, null, 2)}\n`)
  if (w1.length > 0) writeFileSync(join(here, "w1.svg"), renderChart(w1))
  process.stderr.write(`figures and chart written to ${here}/latest.json and ${here}/w1.svg\n`)
}

main().catch((error: unknown) => {
  console.error(error)
  process.exit(1)
})
