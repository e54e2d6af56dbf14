/**
 * A PostgreSQL database for one test file.
 *
 * - With `TEST_DATABASE_URL` set, that server is used: a database of the test file's own is
 *   created on it and dropped after the file. When the role may not create databases the tests
 *   refuse with one line: they never run inside the database the URL names. `DATABASE_URL` — the
 *   bot's own production setting — is never read here.
 * - Otherwise, when PostgreSQL's binaries are installed (`/usr/lib/postgresql/<version>/bin`,
 *   Debian's `postgresql` package), a throwaway server is started for the file: `initdb` into
 *   a temporary directory (as the `postgres` user when running as root), `postgres` on a free
 *   loopback port with its socket in that directory, stopped and removed when the file is done
 *   or the process exits.
 * - With neither, the database is unavailable and says why (the tests using it are skipped);
 *   with `CI=true` that is an error instead: in CI the PostgreSQL tests always run.
 *
 * A test that stops the server (`stoppablePostgresForTests`, `outage(ms)`) always gets a
 * throwaway server, `TEST_DATABASE_URL` or not: a server others share cannot be stopped. In CI
 * (`.ci/with-postgres` installs the binaries) it runs too.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process"
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { createServer } from "node:net"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { promisify } from "node:util"
import pg from "pg"
import { afterAll } from "vitest"

export interface ReadyPostgres {
  readonly _tag: "Ready"
  /** The URL of the database of this test file. */
  readonly url: string
  /** How long starting the throwaway server took, when one was started. */
  readonly startMillis?: number | undefined
  /** The throwaway server stopped for `millis`, then started again (none on a `TEST_DATABASE_URL` server). */
  readonly outage?: ((millis: number) => Promise<void>) | undefined
}

/** A database on a throwaway server of the test file's own, which the file may stop. */
export interface StoppablePostgres extends ReadyPostgres {
  readonly outage: (millis: number) => Promise<void>
}

export interface UnavailablePostgres {
  readonly _tag: "Unavailable"
  readonly reason: string
}

export type TestPostgres = ReadyPostgres | UnavailablePostgres

/** A title for tests that need the server: when it is unavailable, the title says why they are skipped and what would run them. */
export const whenReady = (server: TestPostgres, title: string) =>
  server._tag === "Ready" ? title : `${title} (skipped: ${server.reason})`

const run = promisify(execFile)

const inCi = () => process.env["CI"] === "true" || process.env["CI"] === "1"

/** Only the tests' own variable: `DATABASE_URL` is the bot's production database. */
const configuredUrl = () => process.env["TEST_DATABASE_URL"] || undefined

/** Why the tests refuse a `TEST_DATABASE_URL` whose role may not create databases (no secret in it). */
export const cannotCreateDatabase = (url: string) => {
  const parsed = new URL(url)
  return `TEST_DATABASE_URL: role ${decodeURIComponent(parsed.username) || "(default)"} on ${parsed.host} may not create databases; ` +
    "the tests create a database of their own and never use the one the URL names (grant CREATEDB or use .ci/with-postgres)"
}

/** The bin directory of the newest PostgreSQL installed the Debian way, if any. */
export const postgresBinaries = (): string | undefined => {
  const root = "/usr/lib/postgresql"
  if (!existsSync(root)) return undefined
  const versions = readdirSync(root)
    .filter((v) => existsSync(join(root, v, "bin", "initdb")) && existsSync(join(root, v, "bin", "postgres")))
    .sort((a, b) => Number(b) - Number(a))
  return versions[0] === undefined ? undefined : join(root, versions[0], "bin")
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const server = createServer()
    server.once("error", reject)
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      server.close(() => resolve(port))
    })
  })

const isRoot = () => process.getuid?.() === 0

/** A command as the `postgres` user when running as root (PostgreSQL refuses to run as root). */
const asPostgres = (command: string, args: ReadonlyArray<string>): [string, Array<string>] =>
  !isRoot()
    ? [command, [...args]]
    : existsSync("/usr/sbin/runuser") || existsSync("/sbin/runuser")
    ? ["runuser", ["-u", "postgres", "--", command, ...args]]
    : ["su", ["postgres", "-s", "/bin/sh", "-c", [command, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(" ")]]

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** Whether a server answers on `url`. */
const answers = async (url: string): Promise<boolean> => {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 })
  try {
    await client.connect()
    await client.query("SELECT 1")
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

interface Server {
  readonly adminUrl: string
  readonly stop: () => Promise<void>
  readonly startMillis: number
  /** Stops the server (fast shutdown: connections are cut), waits `millis`, starts it again on the same port and data. */
  readonly outage: (millis: number) => Promise<void>
}

/** The PID of the postmaster of a data directory, once it has written one. */
const postmasterPid = (data: string): number | undefined => {
  const file = join(data, "postmaster.pid")
  if (!existsSync(file)) return undefined
  const pid = Number(readFileSync(file, "utf8").split("\n")[0])
  return Number.isInteger(pid) && pid > 0 ? pid : undefined
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

/** Starts a throwaway server from the binaries in `bin`; rejects with the server's output if it does not come up. */
export const startThrowawayServer = async (bin: string): Promise<Server> => {
  const started = performance.now()
  const dir = mkdtempSync(join(tmpdir(), "bot-pg-"))
  const data = join(dir, "data")
  const removeDir = () => rmSync(dir, { recursive: true, force: true })
  try {
    if (isRoot()) await run("chown", ["postgres:postgres", dir])
    const [initdb, initArgs] = asPostgres(join(bin, "initdb"), [
      "-D", data, "-U", "postgres", "--auth=trust", "--no-sync", "-E", "UTF8", "--locale=C"
    ])
    await run(initdb, initArgs)
  } catch (error) {
    removeDir()
    throw new Error(`initdb failed: ${error instanceof Error ? error.message : String(error)}`)
  }
  const port = await freePort()
  const [postgres, args] = asPostgres(join(bin, "postgres"), [
    "-D", data, "-k", dir, "-p", String(port), "-h", "127.0.0.1",
    // A throwaway server: nothing needs to survive a power loss.
    "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"
  ])
  let child: ChildProcess
  let output = ""
  let exited = false
  const launch = () => {
    exited = false
    child = spawn(postgres, args, { stdio: ["ignore", "ignore", "pipe"] })
    child.stderr?.on("data", (chunk: Buffer) => {
      output = (output + chunk.toString("utf8")).slice(-4000)
    })
    child.once("exit", () => {
      exited = true
    })
  }
  launch()

  /** Asks the postmaster for a fast shutdown and waits (10 s at most) until it is gone. */
  const shutDown = async () => {
    const pid = postmasterPid(data)
    if (pid === undefined || !alive(pid)) return
    process.kill(pid, "SIGINT")
    for (let i = 0; i < 100 && alive(pid); i++) await sleep(100)
    if (alive(pid)) process.kill(pid, "SIGQUIT")
  }

  const killNow = () => {
    const pid = postmasterPid(data)
    // Immediate shutdown: the process is going away; the directory is removed with it.
    if (pid !== undefined && alive(pid)) process.kill(pid, "SIGQUIT")
    child.kill("SIGKILL")
    removeDir()
  }
  process.once("exit", killNow)

  const stop = async () => {
    process.off("exit", killNow)
    await shutDown()
    child.kill("SIGKILL")
    removeDir()
  }

  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`
  /** Resolves once the server answers; stops it and rejects if it does not within 30 s. */
  const up = async () => {
    const deadline = Date.now() + 30_000
    while (!(await answers(adminUrl))) {
      if (exited || Date.now() > deadline) {
        await stop()
        throw new Error(`the throwaway PostgreSQL did not start: ${output.trim() || "no output"}`)
      }
      await sleep(100)
    }
  }
  await up()
  const outage = async (millis: number) => {
    await shutDown()
    await sleep(millis)
    launch()
    await up()
  }
  return { adminUrl, stop, outage, startMillis: Math.round(performance.now() - started) }
}

/** `url` with another database. */
const withDatabase = (url: string, database: string) => {
  const parsed = new URL(url)
  parsed.pathname = `/${database}`
  return parsed.toString()
}

/**
 * Creates a database for a test file on the server of `adminUrl`; `undefined` when the role
 * may not create databases (SQLSTATE 42501).
 */
const createDatabase = async (adminUrl: string, name: string): Promise<string | undefined> => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    // The name is ours (letters, digits, underscores), never user input.
    await client.query(`CREATE DATABASE ${name}`)
    return withDatabase(adminUrl, name)
  } catch (error) {
    if (typeof error === "object" && error !== null && "code" in error && error.code === "42501") return undefined
    throw error
  } finally {
    await client.end()
  }
}

const dropDatabase = async (adminUrl: string, name: string) => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  try {
    await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  } finally {
    await client.end()
  }
}

const unavailableReason =
  "no PostgreSQL: set TEST_DATABASE_URL to a server the tests may create databases on, " +
  "or install postgresql (apt-get install -y postgresql) so that a throwaway server can be started"

/** Why a test that stops its server cannot run although `TEST_DATABASE_URL` is set. */
const noThrowawayReason =
  "no PostgreSQL binaries for a throwaway server of the test's own (a shared TEST_DATABASE_URL server cannot be stopped): " +
  "install postgresql (apt-get install -y postgresql)"

/** A database name for `label` that no other test file's is. */
const databaseName = (label: string) =>
  `test_${label.replace(/[^a-z0-9]+/gi, "_").toLowerCase()}_${process.pid}_${Math.floor(Math.random() * 1e6)}`

/**
 * The throwaway server of this test file, started by the first call that needs it and forgotten
 * when it is stopped after the file: files that share a worker (and this module) each get their own.
 */
let throwaway: Promise<Server> | undefined

/**
 * A database of its own for the calling test file, named after `label`; cleaned up after the
 * file (an `afterAll` hook is registered). Call it at the top level of the test file; calls of
 * one file share its server.
 */
export const postgresForTests = async (label: string): Promise<TestPostgres> => {
  const given = configuredUrl()
  if (given !== undefined) return { _tag: "Ready", url: await databaseOn(given, databaseName(label)) }
  return stoppablePostgresForTests(label)
}

/**
 * A database of its own for the calling test file on the file's throwaway server, which the file
 * may stop (`outage`), even when `TEST_DATABASE_URL` names a server (only with PostgreSQL's
 * binaries installed; unavailable without them, an error in CI). Called like {@link postgresForTests};
 * both share the file's throwaway server.
 */
export const stoppablePostgresForTests = async (label: string): Promise<StoppablePostgres | UnavailablePostgres> => {
  const name = databaseName(label)
  const bin = postgresBinaries()
  if (bin === undefined) {
    const reason = configuredUrl() === undefined ? unavailableReason : noThrowawayReason
    if (inCi()) throw new Error(`CI=true and ${reason}`)
    return { _tag: "Unavailable", reason }
  }
  const first = throwaway === undefined
  throwaway ??= startThrowawayServer(bin)
  const server = await throwaway
  if (first) {
    afterAll(() => {
      throwaway = undefined
      return server.stop()
    }, 30_000)
  }
  return {
    _tag: "Ready",
    url: await databaseOn(server.adminUrl, name),
    startMillis: first ? server.startMillis : undefined,
    outage: server.outage
  }
}

/**
 * A new database named `name` on the server of `adminUrl`, dropped after the test file; rejects
 * with {@link cannotCreateDatabase} when the role may not create one.
 */
export const databaseOn = async (adminUrl: string, name: string): Promise<string> => {
  const url = await createDatabase(adminUrl, name)
  if (url === undefined) throw new Error(cannotCreateDatabase(adminUrl))
  afterAll(() => dropDatabase(adminUrl, name), 30_000)
  return url
}
