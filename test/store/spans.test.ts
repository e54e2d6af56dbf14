/**
 * One span per store call, whichever layer holds the stores: the instrumentation's
 * `store.<store>.<operation>`, which SQLite, PostgreSQL and YDB tell their database and table. No
 * store layer makes a second span of its own for the call.
 */
import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Optional } from "@ydbjs/value/optional"
import { Bool, Int64, Text } from "@ydbjs/value/primitive"
import { Duration, Effect, type Layer, Redacted } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import { instrumentStores } from "../../src/store/Instrumented.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { clientColumns } from "../../src/store/rows.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { StoresYdb } from "../../src/store/ydb/YdbStores.ts"
import { type FakeYdb, rows, startFakeYdb } from "../support/FakeYdb.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { id } from "./contract.ts"

/** Runs two store calls inside a span `test` on the instrumented stores; returns the spans of its trace. */
const spansOf = (stores: Layer.Layer<Stores, StoreError>) => {
  const exporter = new InMemorySpanExporter()
  const tracing = NodeSdk.layer(() => ({ resource: { serviceName: "dialog-bot-test" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
  return Effect.gen(function*() {
    yield* Effect.gen(function*() {
      yield* (yield* ClientStore).getOrCreate({ id: id(6021488832), firstName: "Anna" })
      yield* (yield* Inbox).pendingCount
    }).pipe(Effect.withSpan("test"))
    const spans = exporter.getFinishedSpans()
    const root = spans.find((s) => s.name === "test")!
    return spans.filter((s) => s.spanContext().traceId === root.spanContext().traceId)
  }).pipe(Effect.provide(instrumentStores(stores)), Effect.provide(tracing))
}

const postgres = await postgresForTests("store_spans")

const storeSpans = (spans: ReadonlyArray<ReadableSpan>) => spans.filter((s) => s.name.startsWith("store."))

describe("store spans", () => {
  let fake: FakeYdb
  beforeAll(async () => {
    fake = await startFakeYdb()
  })
  afterAll(async () => {
    await fake.close()
  })

  it.effect("memory: one span per call", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(StoresMemory)
      expect(storeSpans(spans).map((s) => s.name)).toEqual(["store.clients.getOrCreate", "store.inbox.pendingCount"])
    }))

  it.effect("SQLite: one span per call, with the database and the table; statements below it are @effect/sql's", () =>
    Effect.gen(function*() {
      const spans = yield* spansOf(StoresSqlite({ path: ":memory:", busyTimeout: "1 second" }))
      const calls = storeSpans(spans)
      expect(calls.map((s) => s.name)).toEqual(["store.clients.getOrCreate", "store.inbox.pendingCount"])
      expect(calls.map((s) => s.attributes)).toEqual([
        expect.objectContaining({ "store.name": "clients", "db.system.name": "sqlite", "db.collection.name": "clients" }),
        expect.objectContaining({ "store.name": "inbox", "db.system.name": "sqlite", "db.collection.name": "inbox" })
      ])
      const callIds = new Set(calls.map((s) => s.spanContext().spanId))
      const others = spans.filter((s) => s.name !== "test" && !callIds.has(s.spanContext().spanId))
      expect(others.every((s) => s.name === "sql.execute" && callIds.has(s.parentSpanContext?.spanId ?? ""))).toBe(true)
    }))

  it.effect.skipIf(postgres._tag !== "Ready")(whenReady(postgres, "PostgreSQL: one span per call, with the database and the table; statements below it are @effect/sql's"), () =>
    Effect.gen(function*() {
      const url = postgres._tag === "Ready" ? postgres.url : ""
      const spans = yield* spansOf(StoresPostgres({ url: Redacted.make(url) }))
      const calls = storeSpans(spans)
      expect(calls.map((s) => s.name)).toEqual(["store.clients.getOrCreate", "store.inbox.pendingCount"])
      expect(calls.map((s) => s.attributes)).toEqual([
        expect.objectContaining({ "store.name": "clients", "db.system.name": "postgresql", "db.collection.name": "clients" }),
        expect.objectContaining({ "store.name": "inbox", "db.system.name": "postgresql", "db.collection.name": "inbox" })
      ])
      const callIds = new Set(calls.map((s) => s.spanContext().spanId))
      const others = spans.filter((s) => s.name !== "test" && !callIds.has(s.spanContext().spanId))
      expect(others.every((s) => s.name === "sql.execute" && callIds.has(s.parentSpanContext?.spanId ?? ""))).toBe(true)
    }))

  it.live("YDB: one span per call, however many queries it runs, with the database and the table", () =>
    Effect.gen(function*() {
      fake.reset()
      const none = new Optional(null, new Text("").type)
      fake.on("FROM `clients` WHERE id", rows(), rows({
        columns: clientColumns.split(", "),
        rows: [[
          new Int64(6021488832n), new Text("Anna"), none, none, none, none, none, none, none,
          new Bool(false), new Optional(null, new Int64(0n).type), none, new Int64(1_764_300_000_000n)
        ]]
      }))
      const spans = yield* spansOf(StoresYdb({
        connectionString: fake.connectionString,
        credentials: { _tag: "Anonymous" },
        queryTimeout: Duration.seconds(5),
        connectTimeout: Duration.seconds(3)
      }))
      // getOrCreate of a new client runs three queries: select, insert, select.
      expect(fake.executed).toHaveLength(4)
      const calls = storeSpans(spans)
      expect(calls.map((s) => s.name)).toEqual(["store.clients.getOrCreate", "store.inbox.pendingCount"])
      expect(calls.map((s) => s.attributes)).toEqual([
        expect.objectContaining({ "db.system.name": "ydb", "db.collection.name": "clients", "db.operation.name": "getOrCreate" }),
        expect.objectContaining({ "db.system.name": "ydb", "db.collection.name": "inbox", "db.operation.name": "pendingCount" })
      ])
      expect(spans.map((s) => s.name).sort()).toEqual(["store.clients.getOrCreate", "store.inbox.pendingCount", "test"])
    }))
})
