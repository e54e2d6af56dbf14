/**
 * PostgreSQL stopped for a few seconds (a fast shutdown: every connection cut, new ones
 * refused), then started again, under a small load through the real webhook server: every
 * update gets its real answer, in order, none twice, no apology. The breaker waits for the
 * store; a delivery refused meanwhile is answered 500 and delivered again.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { stoppablePostgresForTests, whenReady } from "../support/Postgres.ts"
import { underLoad } from "../support/underLoad.ts"

/** A throwaway server of the file's own, `TEST_DATABASE_URL` or not: a shared server cannot be stopped. */
const server = await stoppablePostgresForTests("outage")

describe("PostgreSQL stopped under load", () => {
  it.scopedLive.skipIf(server._tag !== "Ready")(whenReady(server, "every update gets its real answer, in order, none twice, once the server is back"), () =>
    Effect.gen(function*() {
      if (server._tag !== "Ready") return
      const outage = server.outage
      let stopped: Promise<void> | undefined
      const { acks } = yield* underLoad({
        stores: StoresPostgres({ url: Redacted.make(server.url) }),
        onThird: () => void (stopped = outage(3_000))
      })
      expect(stopped).toBeDefined()
      yield* Effect.promise(() => stopped ?? Promise.resolve())
      // Deliveries were refused while it was down, and delivered again.
      expect([...acks.values()].some((r) => r.attempts > 1)).toBe(true)
    }), 180_000)
})
