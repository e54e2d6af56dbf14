/**
 * The runner storage's SQL client (`serialReservedConnections`): a connection it reserves runs
 * one query at a time, also when callers stop waiting for their queries (shard-lock operations
 * past their deadline) while the connection's backend is stalled, so pg never gets a query
 * while another runs on that connection (a deprecation warning in pg 8, an error in pg 9). The
 * same queries on the connection as the library reserves it do draw the warning: the check can
 * fail. The backend is stalled with SIGSTOP: a throwaway server of the file's own.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Redacted } from "effect"
import { serialReservedConnections } from "../../src/cluster/ClusterRunner.ts"
import { stoppablePostgresForTests, whenReady } from "../support/Postgres.ts"

const server = await stoppablePostgresForTests("serial_reserved")

/** The pg driver's warnings of a query issued while another runs, as the process emits them. */
const overlapWarnings = Effect.acquireRelease(
  Effect.sync(() => {
    const seen: Array<string> = []
    const listener = (warning: Error) => {
      if (warning.message.includes("already executing a query")) seen.push(warning.message)
    }
    process.on("warning", listener)
    return { seen, listener }
  }),
  ({ listener }) => Effect.sync(() => void process.off("warning", listener))
)

/**
 * On one reserved connection whose backend is stopped for 400 ms: two queries given up by their
 * callers after 50 ms each, then two more at once.
 */
const stalledAndGivenUp = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const conn = yield* sql.reserve
  const pid = Number((yield* conn.executeValues("SELECT pg_backend_pid()", []))[0]?.[0])
  process.kill(pid, "SIGSTOP")
  yield* Effect.addFinalizer(() => Effect.sync(() => process.kill(pid, "SIGCONT")))
  yield* Effect.fork(Effect.sleep("400 millis").pipe(Effect.andThen(() => process.kill(pid, "SIGCONT"))))
  for (const n of [1, 2]) yield* Effect.ignore(Effect.timeout(conn.executeValues(`SELECT ${n}`, []), "50 millis"))
  return yield* Effect.all([conn.executeValues("SELECT 3", []), conn.executeValues("SELECT 4", [])], { concurrency: "unbounded" })
})

describe.skipIf(server._tag !== "Ready")(whenReady(server, "the runner storage's reserved connections"), () => {
  it.scopedLive("run one query at a time, queries given up by their callers included; the library's own connection draws the warning", () =>
    Effect.gen(function*() {
      const url = server._tag === "Ready" ? server.url : ""
      const pool = PgClient.layer({ url: Redacted.make(url), maxConnections: 2 })
      const warnings = yield* overlapWarnings

      const serial = yield* Effect.scoped(stalledAndGivenUp).pipe(Effect.provide(serialReservedConnections.pipe(Layer.provide(pool))))
      expect(serial).toEqual([[[3]], [[4]]])
      // Node emits the warning on the next tick.
      yield* Effect.sleep("20 millis")
      expect(warnings.seen).toEqual([])

      yield* Effect.scoped(stalledAndGivenUp).pipe(Effect.provide(pool))
      yield* Effect.sleep("20 millis")
      expect(warnings.seen.length).toBe(1)
    }), 60_000)
})
