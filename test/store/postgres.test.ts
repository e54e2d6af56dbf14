/**
 * The PostgreSQL store on a real server (`../support/Postgres.ts`: the server of
 * `TEST_DATABASE_URL`, or a throwaway one): the store contract, and what only
 * this store has: its settings, its migrations, exact 64-bit integers out of pg, the operation
 * deadline and a clear StoreError at start for a database that cannot be used.
 */
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either, Layer, Redacted } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { PostgresDatabase, type PostgresOptions, postgresWhere } from "../../src/store/postgres/PostgresDatabase.ts"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { clientColumns, decodeClients } from "../../src/store/rows.ts"
import { SqlDialect } from "../../src/store/sql/SqlDialect.ts"
import { PostgresConfig, StoreKind } from "../../src/store/StoreConfig.ts"
import { migrateConfigured } from "../../src/store/Stores.ts"
import { cannotCreateDatabase, databaseOn, postgresForTests, whenReady } from "../support/Postgres.ts"
import { id, storeContract } from "./contract.ts"

const server = await postgresForTests("store_postgres")
const url = server._tag === "Ready" ? server.url : "postgres://nobody@127.0.0.1:1/none"
const skip = server._tag === "Ready" ? undefined : server.reason
if (server._tag === "Ready" && server.startMillis !== undefined) console.log(`throwaway PostgreSQL started in ${server.startMillis} ms`)

const options: PostgresOptions = { url: Redacted.make(url), connectTimeout: "5 seconds" }
const stores = StoresPostgres(options)

storeContract("postgres", stores, { skip })

const withEnv = (env: Record<string, string>) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.withConfigProvider(effect, ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("PostgreSQL settings", () => {
  it.effect("STORE=postgres is a store kind", () =>
    Effect.gen(function*() {
      expect(yield* StoreKind.pipe(withEnv({ STORE: "postgres" }))).toBe("postgres")
    }))

  it.effect("DATABASE_URL is required, with a message that says what to set", () =>
    Effect.gen(function*() {
      const missing = yield* Effect.flip(PostgresConfig.pipe(withEnv({})))
      expect(String(missing)).toContain("STORE=postgres needs DATABASE_URL")
      const empty = yield* Effect.flip(PostgresConfig.pipe(withEnv({ DATABASE_URL: "  " })))
      expect(String(empty)).toContain("STORE=postgres needs DATABASE_URL")
    }))

  it.effect("a DATABASE_URL that is not a PostgreSQL URL is refused without repeating it", () =>
    Effect.gen(function*() {
      for (const [given, problem] of [
        ["mysql://bot:s3cret@db/bot", "has the scheme mysql"],
        ["s3cret", "is not a URL"],
        ["postgres:///bot?password=s3cret", "names no host"]
      ] as const) {
        const error = String(yield* Effect.flip(PostgresConfig.pipe(withEnv({ DATABASE_URL: given }))))
        expect(error).toContain(`DATABASE_URL ${problem}`)
        expect(error).not.toContain("s3cret")
      }
    }))

  it.effect("a valid DATABASE_URL is kept redacted, with the pool's defaults", () =>
    Effect.gen(function*() {
      const socket = yield* PostgresConfig.pipe(withEnv({ DATABASE_URL: "postgresql:///bot?host=/run/postgresql" }))
      expect(Redacted.value(socket.url)).toBe("postgresql:///bot?host=/run/postgresql")
      const config = yield* PostgresConfig.pipe(withEnv({ DATABASE_URL: "postgres://bot:s3cret@db:5432/bot", DATABASE_POOL_SIZE: "4" }))
      expect(String(config.url)).not.toContain("s3cret")
      expect(config.poolSize).toBe(4)
      expect(postgresWhere(Redacted.value(config.url))).toBe("postgres://bot@db:5432/bot")
    }))
})

describe.skipIf(skip !== undefined)(whenReady(server, "PostgreSQL database"), () => {
  it.effect("64-bit integers come out of pg exact; one a number cannot hold fails to decode, never a wrong id", () =>
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const rows = yield* sql`SELECT ${"9007199254740993"}::bigint AS big, count(*) AS n FROM clients`
      expect(typeof rows[0]?.["big"]).toBe("bigint")
      expect(rows[0]?.["big"]).toBe(9007199254740993n)
      const uid = id(4_000_000_000 + Math.floor(Math.random() * 1e6))
      yield* (yield* ClientStore).getOrCreate({ id: uid, firstName: "Wide" })
      // A row whose id is past 2^53 (written by something else) is an error, not a rounded id.
      yield* sql`UPDATE clients SET id = ${"9007199254740993"}::bigint WHERE id = ${uid}`
      const raw = yield* sql`SELECT ${sql.unsafe(clientColumns)} FROM clients WHERE id = ${"9007199254740993"}::bigint`
      expect(raw[0]?.["id"]).toBe(9007199254740993n)
      const error = yield* Effect.flip(decodeClients("get", "clients")((yield* SqlDialect).rows(raw)))
      expect(error.message).toBe("a row of clients does not match its schema at 0.id")
      yield* sql`DELETE FROM clients WHERE id = ${"9007199254740993"}::bigint`
    }).pipe(Effect.provide(Layer.mergeAll(stores, PostgresDatabase(options)))))

  it.effect("a row that does not decode is a StoreError naming the field", () =>
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const u = 7_000_000_000 + Math.floor(Math.random() * 1e6)
      yield* sql`
        INSERT INTO inbox (update_id, chat_id, payload, status, received_at)
        VALUES (${"9007199254740995"}::bigint, ${u}, ${Buffer.from("{}")}, 'pending', 1)`
      const error = yield* Effect.flip(Effect.flatMap(Inbox, (inbox) => inbox.pending()))
      expect(error.message).toMatch(/^a row of inbox does not match its schema at \d+\.update_id/)
      yield* sql`DELETE FROM inbox WHERE update_id = ${"9007199254740995"}::bigint`
    }).pipe(Effect.provide(Layer.mergeAll(stores, PostgresDatabase(options)))))

  it.effect("migrations apply once, also when several processes start together", () =>
    Effect.gen(function*() {
      const starts = yield* Effect.forEach(
        Array.from({ length: 4 }, () => PostgresDatabase(options)),
        (layer) => Effect.scoped(Effect.as(Layer.build(layer), "started")),
        { concurrency: "unbounded" }
      )
      expect(starts).toEqual(["started", "started", "started", "started"])
      const sql = yield* PgClient.PgClient
      const applied = yield* sql`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
      expect(applied).toEqual([{ migration_id: 1, name: "create_tables" }, { migration_id: 2, name: "instance_lease" }, {
        migration_id: 3,
        name: "conversations"
      }, { migration_id: 4, name: "conversation_state" }, { migration_id: 5, name: "usage_ledger" }, {
        migration_id: 6,
        name: "feedback"
      }, { migration_id: 7, name: "conversation_summaries" }])
    }).pipe(Effect.provide(PostgresDatabase(options))))

  it.effect("migrate says which database is up to date and that it had nothing to apply, never its password", () =>
    Effect.gen(function*() {
      const migrate = migrateConfigured.pipe(withEnv({ STORE: "postgres", DATABASE_URL: url }))
      // The first run applies what earlier tests of this file did not.
      expect(yield* migrate).toMatch(/: (applied 0001_create_tables(, \d{4}_\w+)*|no migration to apply); up to date\.$/)
      expect(yield* migrate).toBe(`PostgreSQL database ${postgresWhere(url)}: no migration to apply; up to date.`)
    }))

  it.effect("free text is kept as UTF-8 bytes: NUL characters and emoji round-trip", () =>
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const uid = id(5_000_000_000 + Math.floor(Math.random() * 1e6))
      yield* (yield* ClientStore).getOrCreate({ id: uid, firstName: "a\u0000b 🙂" })
      const rows = yield* sql`SELECT convert_from(first_name, 'UTF8') AS name, octet_length(first_name) AS bytes FROM clients WHERE id = ${uid}`.pipe(
        Effect.either
      )
      // PostgreSQL's text cannot hold NUL: reading the column as text fails, the bytes are there.
      expect(Either.isLeft(rows)).toBe(true)
      const bytes = yield* sql`SELECT octet_length(first_name) AS bytes FROM clients WHERE id = ${uid}`
      expect(bytes[0]?.["bytes"]).toBe(Buffer.byteLength("a\u0000b 🙂"))
    }).pipe(Effect.provide(Layer.mergeAll(stores, PostgresDatabase(options)))))

  it.live("an operation past its deadline is a retryable StoreError and its statement is cancelled", () =>
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const { call } = yield* SqlDialect
      const started = Date.now()
      const error = yield* Effect.flip(call("sleep", "none", sql`SELECT pg_sleep(5)`))
      expect(Date.now() - started).toBeLessThan(3_000)
      expect(error).toMatchObject({ _tag: "StoreError", operation: "sleep", retryable: true })
      expect(error.message).toContain("no answer from PostgreSQL within")
      // The server is not left running it.
      const running = yield* sql`SELECT count(*) AS n FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(5)%' AND state = 'active'`
      expect(running[0]?.["n"]).toBe(0n)
    }).pipe(Effect.provide(PostgresDatabase({ ...options, queryTimeout: "300 millis" }))))
})

describe("PostgreSQL at start", () => {
  it.effect("an unreachable server fails with a StoreError naming the database, not the password", () =>
    Effect.gen(function*() {
      const error: StoreError = yield* Effect.flip(Effect.scoped(Layer.build(
        PostgresDatabase({ url: Redacted.make("postgres://bot:s3cret@127.0.0.1:1/bot"), connectTimeout: "2 seconds" })
      )))
      expect(error.operation).toBe("open")
      expect(error.message).toMatch(/^PostgreSQL database postgres:\/\/bot@127\.0\.0\.1:1\/bot: /)
      expect(error.message).not.toContain("s3cret")
    }))

  it.effect.skipIf(skip !== undefined)(whenReady(server, "a database that does not exist fails with a StoreError naming it"), () =>
    Effect.gen(function*() {
      const missing = new URL(url)
      missing.pathname = "/no_such_database"
      const error = yield* Effect.flip(Effect.scoped(Layer.build(PostgresDatabase({ url: Redacted.make(missing.toString()) }))))
      expect(error.message).toContain("/no_such_database")
      expect(error.message).toContain("does not exist")
    }))

  it.effect.skipIf(skip !== undefined)(whenReady(server, "the client is an @effect/sql-pg PgClient on the URL"), () =>
    Effect.gen(function*() {
      const client = yield* PgClient.PgClient
      expect(client.config.database).toBe(new URL(url).pathname.slice(1))
    }).pipe(Effect.provide(PostgresDatabase(options))))
})

describe("the tests' own database", () => {
  it.live.skipIf(skip !== undefined)(whenReady(server, "a TEST_DATABASE_URL whose role may not create databases is refused in one line, its database untouched"), () =>
    Effect.gen(function*() {
      const sql = yield* PgClient.PgClient
      const role = `no_createdb_${process.pid}`
      // Names of ours (letters, digits, underscores), never user input.
      yield* sql.unsafe(`CREATE ROLE ${role} LOGIN NOCREATEDB`)
      const given = new URL(url)
      given.username = role
      const before = yield* sql`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`
      const refused = yield* Effect.flip(Effect.tryPromise(() => databaseOn(given.toString(), `test_refused_${process.pid}`)))
      expect(String(refused.error)).toBe(`Error: ${cannotCreateDatabase(given.toString())}`)
      expect(String(refused.error)).toContain(`role ${role} on ${given.host} may not create databases`)
      expect(String(refused.error).split("\n")).toHaveLength(1)
      const after = yield* sql`SELECT count(*)::int AS n FROM pg_tables WHERE schemaname = 'public'`
      expect(after).toEqual(before)
      yield* sql.unsafe(`DROP ROLE ${role}`)
    }).pipe(Effect.provide(PostgresDatabase(options))))

  it("the bot's DATABASE_URL is never in the tests' environment", () => {
    expect(process.env["DATABASE_URL"]).toBeUndefined()
    expect(process.env["STORE"]).toBeUndefined()
  })
})
