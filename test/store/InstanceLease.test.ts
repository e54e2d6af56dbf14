/**
 * The single-instance lease: the guard (`singleInstance`) on the lease in memory with the test
 * clock, and the lease itself on SQLite and PostgreSQL: one holder at a time, expiry, renewal,
 * take-over, release.
 */
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { hostname, tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Exit, Layer, Option, Redacted, Scope, TestClock } from "effect"
import { holderId, holderIsGone, InstanceLease, InstanceLeaseMemory, singleInstance } from "../../src/store/InstanceLease.ts"
import { PostgresDatabase } from "../../src/store/postgres/PostgresDatabase.ts"
import { InstanceLeaseSql } from "../../src/store/sql/InstanceLeaseSql.ts"
import { SqliteDatabase } from "../../src/store/sqlite/SqliteDatabase.ts"
import { postgresForTests } from "../support/Postgres.ts"

const ttl = Duration.seconds(20)
/** A holder on another host: its process cannot be checked, only its lease expire. */
const elsewhere = "4242@another-host#0badcafe"
/** A pid no process has (above Linux's pid_max). */
const deadPid = 4_194_305
/** Another process of this host that runs (the test runner's parent). */
const neighbour = () => holderId(process.ppid)

const guard = (holder?: string) => singleInstance({ store: "SQLite database ./data/bot.sqlite", ttl, holder })

/** Builds the guard in a scope of its own; its error, if it fails. */
const start = (holder?: string) =>
  Effect.gen(function*() {
    const scope = yield* Scope.make()
    const result = yield* Effect.either(Layer.buildWithScope(guard(holder), scope))
    return { scope, error: result._tag === "Left" ? Option.some(result.left) : Option.none() }
  })

describe("singleInstance", () => {
  it.effect("takes a free lease; a second process is refused with one line naming the store and CLUSTER=true", () =>
    Effect.gen(function*() {
      const first = yield* start()
      expect(first.error).toEqual(Option.none())
      const second = yield* start(neighbour())
      const error = Option.getOrThrow(second.error)
      expect(error.operation).toBe("lease")
      expect(error.message).toMatch(
        /^SQLite database \.\/data\/bot\.sqlite is in use by another bot process \(\d+@.+#[0-9a-f]+, lease expires in 20 s\): run one process per store, or set CLUSTER=true \(with STORE=postgres\) to run several replicas$/
      )
      expect(error.message).not.toContain("\n")
    }).pipe(Effect.provide(InstanceLeaseMemory)))

  it.effect("renews the lease while it runs, and releases it at the end", () =>
    Effect.gen(function*() {
      const first = yield* start()
      yield* TestClock.adjust(Duration.minutes(5))
      expect(Option.isSome((yield* start(neighbour())).error)).toBe(true)
      yield* Scope.close(first.scope, Exit.void)
      expect((yield* start(neighbour())).error).toEqual(Option.none())
    }).pipe(Effect.provide(InstanceLeaseMemory)))

  it.effect("two layers of one process on one store are two holders: the second is refused", () =>
    Effect.gen(function*() {
      expect((yield* start()).error).toEqual(Option.none())
      expect(Option.map((yield* start()).error, (e) => e.operation)).toEqual(Option.some("lease"))
    }).pipe(Effect.provide(InstanceLeaseMemory)))

  it.effect("a lease left by a process on another host blocks a start until it expires, not longer", () =>
    Effect.gen(function*() {
      const lease = yield* InstanceLease
      expect(yield* lease.acquire(elsewhere, ttl)).toEqual(Option.none())
      yield* TestClock.adjust(Duration.seconds(19))
      expect(Option.isSome((yield* start()).error)).toBe(true)
      yield* TestClock.adjust(Duration.seconds(1))
      expect((yield* start()).error).toEqual(Option.none())
    }).pipe(Effect.provide(InstanceLeaseMemory)))

  it.effect("a lease left by a dead process of this host, or an earlier one with this pid, is taken over at once", () =>
    Effect.gen(function*() {
      const lease = yield* InstanceLease
      yield* lease.acquire(holderId(deadPid), ttl)
      expect((yield* start()).error).toEqual(Option.none())
    }).pipe(Effect.provide(InstanceLeaseMemory)))

  it("holderIsGone: only holders of this host that are not running, or had this pid before", () => {
    const self = holderId()
    expect(holderIsGone(self, self)).toBe(false)
    expect(holderIsGone(holderId(deadPid), self)).toBe(true)
    expect(holderIsGone(holderId(process.pid), self)).toBe(true)
    expect(holderIsGone(holderId(process.ppid), self)).toBe(false)
    expect(holderIsGone(`${deadPid}@another-host#0badcafe`, self)).toBe(false)
    expect(holderIsGone("not a holder id", self)).toBe(false)
    expect(holderId().startsWith(`${process.pid}@${hostname()}#`)).toBe(true)
  })
})

/** The lease's own rules, on a store. */
const leaseContract = (name: string, layer: Layer.Layer<InstanceLease, unknown>, skip?: string) =>
  describe.skipIf(skip !== undefined)(skip === undefined ? `the lease on ${name}` : `the lease on ${name} (skipped: ${skip})`, () => {
    it.live("one holder at a time; renew and take-over only by the right holder; release frees it", () =>
      Effect.gen(function*() {
        const lease = yield* InstanceLease
        const [a, b, c] = ["1@h#0000000a", "2@h#0000000b", "3@h#0000000c"]
        yield* lease.release(a)
        yield* lease.release(b)
        expect(yield* lease.acquire(a, ttl)).toEqual(Option.none())
        expect(yield* lease.acquire(a, ttl)).toEqual(Option.none())
        const held = yield* lease.acquire(b, ttl)
        expect(Option.map(held, (h) => h.holder)).toEqual(Option.some(a))
        expect(Option.map(held, (h) => h.expiresAt > Date.now() + 15_000)).toEqual(Option.some(true))
        expect(yield* lease.renew(a, ttl)).toBe(true)
        expect(yield* lease.renew(b, ttl)).toBe(false)
        expect(yield* lease.takeOver(c, b, ttl)).toBe(false)
        expect(yield* lease.takeOver(a, b, ttl)).toBe(true)
        expect(yield* lease.renew(a, ttl)).toBe(false)
        yield* lease.release(a) // not its lease any more: nothing happens
        expect(Option.map(yield* lease.acquire(c, ttl), (h) => h.holder)).toEqual(Option.some(b))
        yield* lease.release(b)
        expect(yield* lease.acquire(c, ttl)).toEqual(Option.none())
        yield* lease.release(c)
      }).pipe(Effect.provide(layer)))

    it.live("an expired lease goes to the next holder; of concurrent starts exactly one wins", () =>
      Effect.gen(function*() {
        const lease = yield* InstanceLease
        yield* lease.acquire("1@h#0000000a", Duration.millis(1))
        yield* Effect.sleep("20 millis")
        expect(yield* lease.acquire("2@h#0000000b", ttl)).toEqual(Option.none())
        yield* lease.release("2@h#0000000b")
        const results = yield* Effect.forEach(
          Array.from({ length: 8 }, (_, i) => `${i + 10}@h#000000${i + 10}`),
          (holder) => lease.acquire(holder, ttl),
          { concurrency: "unbounded" }
        )
        expect(results.filter(Option.isNone)).toHaveLength(1)
        const winner = Option.getOrThrow(yield* lease.acquire("99@h#00000099", ttl))
        yield* lease.release(winner.holder)
      }).pipe(Effect.provide(layer)))
  })

const dir = mkdtempSync(join(tmpdir(), "bot-lease-"))
process.once("exit", () => rmSync(dir, { recursive: true, force: true }))
leaseContract(
  "SQLite",
  InstanceLeaseSql.pipe(Layer.provide(SqliteDatabase({ path: join(dir, "bot.sqlite"), busyTimeout: "5 seconds" })))
)

const postgres = await postgresForTests("instance_lease")
leaseContract(
  "PostgreSQL",
  InstanceLeaseSql.pipe(
    Layer.provide(PostgresDatabase({ url: Redacted.make(postgres._tag === "Ready" ? postgres.url : "postgres://127.0.0.1:1/none") }))
  ),
  postgres._tag === "Ready" ? undefined : postgres.reason
)
