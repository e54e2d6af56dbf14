/**
 * The bot as users start it — `node bin/dialog-bot.mjs …` (what `npm start -- …` runs: the
 * compiled dist/, built once per test run by test/support/buildOnce.ts), or its sources as
 * `npm run dev -- …` runs them (`node --import tsx src/main.ts …`) — and any other command of this repository, as real
 * processes: in the repository, with a clean environment (only PATH, HOME and what the caller
 * names, so that nothing of the developer's shell reaches them), their output kept, each the
 * leader of its own process group so that a test can tell whether anything it started is left
 * running. Tests, the crash suites, the cluster tests and the cluster bench all start
 * processes here.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"
import { Effect } from "effect"
import { realSleep } from "./realTime.ts"

export const root = new URL("../..", import.meta.url).pathname
export const bin = new URL("../../bin/dialog-bot.mjs", import.meta.url).pathname
const mainModule = new URL("../../src/main.ts", import.meta.url).pathname

/**
 * How long a test waits for a process it started to listen: a start on two cores shared with
 * other work (the compiled bin starts in well under a second on an idle machine), not a bound
 * the test asserts.
 */
export const processStart = 20_000

export interface Started {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
  /** Both streams, interleaved as they arrived. */
  readonly output: () => string
}

export interface SpawnOptions {
  /** Also writes the process's stderr to this process's stderr as it arrives (a bench's live errors). */
  readonly echoStderr?: boolean
  /**
   * Whether the process leads a group of its own (default): a test can then tell whether
   * anything it started is left; `false` keeps it in this process's group, so that a Ctrl-C on
   * a bench reaches it too.
   */
  readonly ownGroup?: boolean
  /** The folder it runs in (default: the repository). */
  readonly cwd?: string
  /** Written to its stdin, which is then closed (default: no stdin). */
  readonly input?: string
}

/** Starts `command args` in the repository with only `env` (plus PATH and HOME); the caller ends it. */
export const spawnProcess = (
  command: string,
  args: ReadonlyArray<string>,
  env: Record<string, string> = {},
  options: SpawnOptions = {}
): Started => {
  const child = spawn(command, args, {
    cwd: options.cwd ?? root,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
    detached: options.ownGroup ?? true
  })
  if (options.input !== undefined) child.stdin?.end(options.input)
  let stdout = ""
  let stderr = ""
  let output = ""
  child.stdout?.on("data", (chunk: Buffer) => {
    stdout += chunk.toString()
    output += chunk.toString()
  })
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString()
    output += chunk.toString()
    if (options.echoStderr === true) process.stderr.write(chunk)
  })
  return { child, stdout: () => stdout, stderr: () => stderr, output: () => output }
}

/** Starts `command args` as `spawnProcess` does; SIGKILLs its group at the end of the scope. */
export const start = (command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}, options: SpawnOptions = {}) =>
  Effect.acquireRelease(
    Effect.sync(() => spawnProcess(command, args, env, options)),
    ({ child }) => Effect.sync(() => groupAlive(child) && killGroup(child))
  )

export interface BotOptions extends SpawnOptions {
  /** `bin` (default): `node bin/dialog-bot.mjs`, the compiled build; `source`: `node --import tsx src/main.ts`, what `npm run dev` runs. */
  readonly via?: "bin" | "source"
  /** Node's own flags, before the entry. */
  readonly nodeFlags?: ReadonlyArray<string>
}

/** The bot's command line: node, its flags, the entry, then `args`. */
const botArgs = (args: ReadonlyArray<string>, options: BotOptions) => [
  ...(options.nodeFlags ?? []),
  ...(options.via === "source" ? ["--import", "tsx", mainModule] : [bin]),
  ...args
]

/** Starts the bot with `args` and only `env` (plus PATH and HOME); the caller ends it. */
export const spawnBot = (args: ReadonlyArray<string>, env: Record<string, string> = {}, options: BotOptions = {}): Started =>
  spawnProcess(process.execPath, botArgs(args, options), env, options)

/** Starts the bot with `args` and only `env` (plus PATH and HOME); SIGKILLs its group at the end of the scope. */
export const startBot = (args: ReadonlyArray<string>, env: Record<string, string> = {}, options: BotOptions = {}) =>
  start(process.execPath, botArgs(args, options), env, options)

/** Whether the process's output pipes are closed: whatever it wrote last has been read. */
const outputRead = (child: ChildProcess) => [child.stdout, child.stderr].every((pipe) => pipe === null || pipe.closed)

/**
 * How the process ended: its exit code, or the signal that ended it — once its output is read
 * too (the last lines a process writes can arrive after its `exit`), or 2 s after the exit when
 * a process it started still holds the pipes.
 */
export const exited = (child: ChildProcess) =>
  Effect.async<{ readonly code: number | null; readonly signal: NodeJS.Signals | null }>((resume) => {
    let resumed = false
    const done = () => {
      if (resumed) return
      resumed = true
      resume(Effect.succeed({ code: child.exitCode, signal: child.signalCode }))
    }
    const hasEnded = () => child.exitCode !== null || child.signalCode !== null
    if (hasEnded() && outputRead(child)) return done()
    let timer: NodeJS.Timeout | undefined
    const onExit = () => {
      timer = setTimeout(done, 2_000)
    }
    child.once("close", () => {
      clearTimeout(timer)
      done()
    })
    if (hasEnded()) onExit()
    else child.once("exit", onExit)
  })

/** The exit code once the process has ended (null when a signal ended it). */
export const exitCode = (child: ChildProcess) => Effect.map(exited(child), (exit) => exit.code)

/** Whether the process has ended. */
export const ended = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null

/** Runs `node bin/dialog-bot.mjs args` to its end. */
export const runBin = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const started = yield* startBot(args, env)
    const code = yield* exitCode(started.child)
    return { code, stdout: started.stdout(), stderr: started.stderr() }
  }))

/** Whether any process of the child's group (the child, or anything it started) still runs. */
export const groupAlive = (child: ChildProcess): boolean => {
  try {
    process.kill(-(child.pid ?? 0), 0)
    return true
  } catch {
    return false
  }
}

const killGroup = (child: ChildProcess): boolean => {
  try {
    return process.kill(-(child.pid ?? 0), "SIGKILL")
  } catch {
    return false
  }
}

/** The ports `freePort` has handed out in this process: never handed out twice. */
const handedOut = new Set<number>()

const probePort = Effect.async<number>((resume) => {
  const probe = Net.createServer()
  probe.listen(0, "127.0.0.1", () => {
    const address = probe.address()
    const port = typeof address === "object" && address !== null ? address.port : 0
    probe.close(() => resume(Effect.succeed(port)))
  })
})

/**
 * A port of 127.0.0.1 that was free a moment ago (released before the caller binds it), and
 * not one this process handed out before: the system may offer a port it just released again,
 * and two replicas' ports (or one replica's PORT and RUNNER_PORT) must differ.
 */
export const freePort: Effect.Effect<number> = Effect.repeat(probePort, { until: (port) => !handedOut.has(port) }).pipe(
  Effect.tap((port) => Effect.sync(() => handedOut.add(port)))
)

/**
 * Whether the bot on `port` is up: `/healthz` answers, and not as the port taken while the bot
 * is still being built (`{"status":"starting"}`, src/telegram/WebhookPort.ts).
 */
const answersHealth = (port: number) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(2_000) })
      .then((response) => response.text())
      .then((body) => !body.includes('"status":"starting"'), () => false)
  )

/**
 * Whether the process answers `GET /healthz` on `port` as a built bot within `timeoutMs`
 * (false at once when it has ended); asked every 50 ms on the real clock.
 */
export const untilHealthy = (started: Started, port: number, timeoutMs: number): Effect.Effect<boolean> =>
  Effect.gen(function*() {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      if (yield* answersHealth(port)) return true
      if (ended(started.child) || Date.now() > deadline) return false
      yield* realSleep(50)
    }
  })
