/**
 * No accidental sharing, with real processes: without `CLUSTER=true` a second process on the
 * same SQLite file or PostgreSQL database refuses to start with one line naming the store; a
 * process killed with SIGKILL does not block the restart (its lease is taken over at once on
 * the same host, and would expire after `INSTANCE_LEASE_TTL` elsewhere); one stopped with
 * SIGTERM releases the lease; with `CLUSTER=true` no lease is taken.
 */
import type { ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { afterAll, describe, expect, it } from "vitest"
import { postgresWhere } from "../../src/store/postgres/PostgresDatabase.ts"
import { spawnProcess } from "../support/BotProcess.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"

const script = join(dirname(fileURLToPath(import.meta.url)), "holdStores.mjs")

interface Started {
  readonly child: ChildProcess
  /** Resolves with `holding` once the stores are open, or with the exit code and stderr when the start failed. */
  readonly outcome: Promise<{ readonly holding: true } | { readonly holding: false; readonly code: number | null; readonly stderr: string }>
  readonly exited: Promise<void>
}

const running = new Set<ChildProcess>()
afterAll(() => {
  for (const child of running) child.kill("SIGKILL")
})

const start = (env: Record<string, string>): Started => {
  const started = spawnProcess(process.execPath, [script], { LOG_LEVEL: "none", INSTANCE_LEASE_TTL: "60 seconds", ...env })
  const child = started.child
  running.add(child)
  const exited = new Promise<void>((resolve) => child.once("exit", () => {
    running.delete(child)
    resolve()
  }))
  const outcome = new Promise<{ holding: true } | { holding: false; code: number | null; stderr: string }>((resolve) => {
    child.stdout?.on("data", () => {
      if (started.stdout().includes("holding")) resolve({ holding: true })
    })
    child.once("exit", (code) => resolve({ holding: false, code, stderr: started.stderr().trim() }))
  })
  return { child, outcome, exited }
}

const stop = async (started: Started, signal: NodeJS.Signals) => {
  started.child.kill(signal)
  await started.exited
}

/** The whole story on one store: `env` selects it, `store` is how the refusal names it. */
const sharingStory = (env: Record<string, string>, store: string) => async () => {
  const first = start(env)
  expect(await first.outcome).toEqual({ holding: true })

  // A replica of a cluster takes no lease; it starts alongside the refused one.
  const replica = start({ ...env, CLUSTER: "true" })
  const second = await start(env).outcome
  expect(await replica.outcome).toEqual({ holding: true })
  expect(second).toMatchObject({ holding: false, code: 1 })
  const line = second.holding ? "" : second.stderr
  expect(line.split("\n")).toHaveLength(1)
  expect(line).toContain(`${store} is in use by another bot process (${first.child.pid}@`)
  expect(line).toContain("set CLUSTER=true")

  await stop(replica, "SIGTERM")

  // Killed: its lease (60 s) does not block the restart.
  await stop(first, "SIGKILL")
  const restarted = Date.now()
  const third = start(env)
  expect(await third.outcome).toEqual({ holding: true })
  const restartMillis = Date.now() - restarted
  expect(restartMillis).toBeLessThan(30_000)

  // Stopped: it gives the lease up.
  await stop(third, "SIGTERM")
  const fourth = start(env)
  expect(await fourth.outcome).toEqual({ holding: true })
  await stop(fourth, "SIGTERM")
  console.log(`${store}: restart after SIGKILL held the store in ${restartMillis} ms (process start included)`)
}

// The SQLite and the PostgreSQL stories run at the same time: each has a store of its own.
describe("a second process on the same store", { concurrent: true }, () => {
  const dir = mkdtempSync(join(tmpdir(), "bot-single-"))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const path = join(dir, "bot.sqlite")
  it("SQLite: refused with one line; a killed holder does not block the restart", sharingStory(
    { STORE: "sqlite", SQLITE_PATH: path },
    `SQLite database ${path}`
  ), 120_000)
})

const postgres = await postgresForTests("single_instance")
describe.skipIf(postgres._tag !== "Ready")(whenReady(postgres, "a second process on the same PostgreSQL database"), { concurrent: true }, () => {
  const url = postgres._tag === "Ready" ? postgres.url : ""
  it("PostgreSQL: refused with one line; a killed holder does not block the restart", sharingStory(
    { STORE: "postgres", DATABASE_URL: url },
    `PostgreSQL database ${postgresWhere(url)}`
  ), 120_000)
})
