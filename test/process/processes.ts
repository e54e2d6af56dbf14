/**
 * The bot as users start it — `node bin/dialog-bot.mjs …`, `npm start -- …` — as real
 * processes with a clean environment, each the leader of its own process group so that a
 * test can tell whether anything it started is left running.
 */
import { type ChildProcess, spawn } from "node:child_process"
import * as Net from "node:net"
import { Effect } from "effect"

export const root = new URL("../..", import.meta.url).pathname
export const bin = new URL("../../bin/dialog-bot.mjs", import.meta.url).pathname

export interface Started {
  readonly child: ChildProcess
  readonly stdout: () => string
  readonly stderr: () => string
}

/** Starts `command args` in the repository with only `env` (plus PATH and HOME); SIGKILLs its group at the end of the scope. */
export const start = (command: string, args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.sync((): Started => {
      const child = spawn(command, args, {
        cwd: root,
        env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env },
        stdio: ["ignore", "pipe", "pipe"],
        detached: true
      })
      let stdout = ""
      let stderr = ""
      child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
      child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
      return { child, stdout: () => stdout, stderr: () => stderr }
    }),
    ({ child }) => Effect.sync(() => groupAlive(child) && killGroup(child))
  )

/** The exit code once the process has ended (null when a signal ended it). */
export const exitCode = (child: ChildProcess) =>
  Effect.async<number | null>((resume) => {
    if (child.exitCode !== null || child.signalCode !== null) return resume(Effect.succeed(child.exitCode))
    child.once("exit", (code) => resume(Effect.succeed(code)))
  })

/** Runs `node bin/dialog-bot.mjs args` to its end. */
export const runBin = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.scoped(Effect.gen(function*() {
    const started = yield* start(process.execPath, [bin, ...args], env)
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

/** Whether a connection to 127.0.0.1:port is refused. */
export const connectionRefused = (port: number) =>
  Effect.async<boolean>((resume) => {
    const socket = Net.connect(port, "127.0.0.1")
    socket.once("connect", () => {
      socket.destroy()
      resume(Effect.succeed(false))
    })
    socket.once("error", () => resume(Effect.succeed(true)))
  })

/** A server holding a port on 127.0.0.1 for the scope: the port is taken. */
export const takenPort = Effect.acquireRelease(
  Effect.async<Net.Server>((resume) => {
    const server = Net.createServer()
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  }),
  (server) =>
    Effect.async<void>((resume) => {
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map((server) => (server.address() as Net.AddressInfo).port))

/** Lines that look like a stack trace. */
export const stackFrames = (text: string): ReadonlyArray<string> => text.split("\n").filter((line) => /^\s+at /.test(line))
