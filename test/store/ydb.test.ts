/**
 * The YDB stores through the real SDK (@ydbjs/core + @ydbjs/query over gRPC):
 * - against an in-process fake of YDB's Discovery and Query services, always: the YQL and the
 *   typed parameters sent, the decoding of result sets, retries, timeouts, cancellation and
 *   connection failures;
 * - every method of the four stores, the three serializable transactions (begun and committed
 *   in their query, rolled back when it fails), the credentials, the column upgrades and the
 *   guard against the SDK's unawaited background calls;
 * - the store contract against a real YDB when TEST_YDB_CONNECTION_STRING is set (never the
 *   bot's own YDB_CONNECTION_STRING); its tables, under a directory of their own, are dropped
 *   after the run.
 */
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { identifier } from "@ydbjs/query"
import { Status } from "nice-grpc"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { Optional } from "@ydbjs/value/optional"
import { Bool, Int64, Text, Timestamp, Uint32, Uint64 } from "@ydbjs/value/primitive"
import { Cause, ConfigError, ConfigProvider, Deferred, Duration, Effect, Exit, Fiber, Layer, Option, Redacted, TestClock } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { ConversationState } from "../../src/store/ConversationState.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { YdbConfig, type YdbCredentials } from "../../src/store/StoreConfig.ts"
import { dropSdkBackgroundFailures, YdbClient, YdbClientDriver, type YdbConnectionOptions } from "../../src/store/ydb/YdbClient.ts"
import { migrateYdb, ydbTables, type YdbTables } from "../../src/store/ydb/schema.ts"
import { StoresOnYdb, StoresYdb } from "../../src/store/ydb/YdbStores.ts"
import { type FakeYdb, hang, rows, startFakeYdb, status } from "../support/FakeYdb.ts"
import { id, injection, nul, storeContract } from "./contract.ts"

const anonymous: YdbCredentials = { _tag: "Anonymous" }

/** Drops every table of the bot (the real-YDB run's cleanup). */
const dropYdbTables = (tables: YdbTables) =>
  Effect.flatMap(YdbClient, (ydb) =>
    Effect.forEach(
      Object.values(tables),
      (table) => ydb.run("drop", table, (sql) => sql(`DROP TABLE ${identifier(table)}`), { idempotent: false }),
      { discard: true }
    ))

const options = (connectionString: string, overrides: Partial<YdbConnectionOptions> = {}): YdbConnectionOptions => ({
  connectionString,
  credentials: anonymous,
  queryTimeout: Duration.seconds(5),
  connectTimeout: Duration.seconds(3),
  ...overrides
})

const clientRow = (idValue: bigint, firstName: string) => ({
  columns: [
    "id",
    "first_name",
    "last_name",
    "username",
    "language_code",
    "profile_name",
    "profile_phone",
    "profile_email",
    "profile_notes",
    "blocked",
    "handoff_requested_at",
    "handoff_reason",
    "created_at"
  ],
  rows: [[
    new Int64(idValue),
    new Text(firstName),
    new Optional(null, new Text("").type),
    new Optional(new Text("anna"), new Text("").type),
    new Optional(null, new Text("").type),
    new Optional(new Text(injection), new Text("").type),
    new Optional(null, new Text("").type),
    new Optional(null, new Text("").type),
    new Optional(null, new Text("").type),
    new Bool(false),
    new Optional(null, new Int64(0n).type),
    new Optional(null, new Text("").type),
    new Int64(1_764_300_000_000n)
  ]]
})

const messageRows = (list: ReadonlyArray<readonly [bigint, bigint, "user" | "assistant", string]>) => ({
  columns: ["chat_id", "update_id", "role", "text", "at", "thread_id", "speaker"],
  rows: list.map(([chat, update, role, text]) => [
    new Int64(chat),
    new Int64(update),
    new Text(role),
    new Text(text),
    new Int64(5n),
    new Optional(null, new Int64(0n).type),
    new Optional(null, new Text("").type)
  ])
})

const countRows = (n: bigint) => ({ columns: ["n"], rows: [[new Uint64(n)]] })

const inboxRows = (list: ReadonlyArray<{ readonly updateId: bigint; readonly status: string; readonly finishedAt?: number; readonly error?: string }>) => ({
  columns: ["update_id", "chat_id", "payload", "status", "received_at", "finished_at", "error", "delivered"],
  rows: list.map((entry) => [
    new Int64(entry.updateId),
    new Optional(new Int64(-1001234567890n), new Int64(0n).type),
    new Text("{}"),
    new Text(entry.status),
    new Timestamp(new Date(1_764_300_000_123)),
    new Optional(entry.finishedAt === undefined ? null : new Timestamp(new Date(entry.finishedAt)), new Timestamp(new Date(0)).type),
    new Optional(entry.error === undefined ? null : new Text(entry.error), new Text("").type),
    new Optional(new Uint32(1), new Uint32(0).type)
  ])
})

describe("YDB stores over the SDK against a fake YDB", () => {
  let fake: FakeYdb
  beforeAll(async () => {
    fake = await startFakeYdb()
  })
  afterAll(async () => {
    await fake.close()
  })
  beforeEach(() => fake.reset())

  const stores = () => StoresYdb(options(fake.connectionString))
  const queriesLike = (pattern: string) => fake.executed.filter((q) => q.text.includes(pattern))

  it.live("discovers the endpoint, sends ids as Int64 parameters and reads ids above 2^32 exactly", () =>
    Effect.gen(function*() {
      fake.on("FROM `clients` WHERE id", rows(), rows(clientRow(6021488832n, "Anna")))
      const clients = yield* ClientStore
      const client = yield* clients.getOrCreate({ id: id(6021488832), firstName: "Anna", username: "anna" })
      expect(client.id).toBe(6021488832)
      expect(client.profile).toEqual({ name: injection })
      expect(fake.stats.listEndpoints).toBeGreaterThanOrEqual(1)

      const [select, insert] = fake.executed
      expect(select?.text).toContain("DECLARE $p0 AS Int64;")
      expect(select?.parameters).toEqual({ $p0: { type: "Int64", value: 6021488832n } })
      expect(insert?.text).toMatch(/^INSERT INTO `clients` \(id, first_name, last_name, username, language_code, blocked, created_at\)/m)
      expect(insert?.parameters).toMatchObject({
        $p0: { type: "Int64", value: 6021488832n },
        $p1: { type: "Utf8", value: "Anna" },
        $p2: { type: "Optional<Utf8>", value: null },
        $p3: { type: "Optional<Utf8>", value: "anna" },
        $p5: { type: "Bool", value: false },
        $p6: { type: "Int64" }
      })
    }).pipe(Effect.provide(stores())))

  it.live("conversation state: UPSERT and SELECT by a Utf8 key parameter, the value read back", () =>
    Effect.gen(function*() {
      fake.on("SELECT value FROM `conversation_state`", rows({ columns: ["value"], rows: [[new Text(injection)]] }))
      const state = yield* ConversationState
      yield* state.put("business:bc-1", injection)
      expect(yield* state.get("business:bc-1")).toEqual(Option.some(injection))
      const [upsert, select] = fake.executed
      expect(upsert?.text).toMatch(/UPSERT INTO `conversation_state` \(key, value, updated_at\)/)
      expect(upsert?.text).not.toContain("DROP")
      expect(upsert?.parameters).toMatchObject({ $p0: { type: "Utf8", value: "business:bc-1" }, $p1: { type: "Utf8", value: injection } })
      expect(select?.parameters).toEqual({ $p0: { type: "Utf8", value: "business:bc-1" } })
    }).pipe(Effect.provide(stores())))

  it.live("user text never enters the query text, only typed parameters", () =>
    Effect.gen(function*() {
      const history = yield* HistoryStore
      const inbox = yield* Inbox
      yield* history.append({ chatId: id(-1001234567890), updateId: id(Number.MAX_SAFE_INTEGER), role: "user", text: injection + nul, at: 1 })
      expect(yield* inbox.record({ updateId: id(42), chatId: id(-1001234567890), payload: `{"text":"${injection}"}` })).toBe("New")
      expect(fake.executed).toHaveLength(2)
      for (const q of fake.executed) {
        expect(q.text).not.toContain("DROP")
        expect(q.text).not.toContain("\u0000")
      }
      expect(fake.executed[0]?.parameters).toMatchObject({
        $p0: { type: "Int64", value: -1001234567890n },
        $p1: { type: "Int64", value: BigInt(Number.MAX_SAFE_INTEGER) },
        $p2: { type: "Utf8", value: "user" },
        $p3: { type: "Utf8", value: injection + nul }
      })
      expect(fake.executed[1]?.parameters["$p1"]).toEqual({ type: "Optional<Int64>", value: -1001234567890n })
    }).pipe(Effect.provide(stores())))

  it.live("lastN is one backward key read, returned oldest first; 2^53-1 stays exact, larger ids are an error", () =>
    Effect.gen(function*() {
      const big = BigInt(Number.MAX_SAFE_INTEGER)
      fake.on(
        "FROM `messages`",
        // Backward key order: update_id DESC, role DESC ('user' before 'assistant'); one row more than asked.
        rows(messageRows([
          [6021488832n, big, "user", "newest question"],
          [6021488832n, big - 1n, "user", "older question"],
          [6021488832n, big - 1n, "assistant", "older answer"]
        ])),
        rows(messageRows([[6021488832n, 2n ** 60n, "user", "too big"]]))
      )
      const history = yield* HistoryStore
      const last = yield* history.lastN(id(6021488832), 2)
      expect(last.map((m) => [m.updateId, m.role, m.text])).toEqual([
        [Number.MAX_SAFE_INTEGER - 1, "assistant", "older answer"],
        [Number.MAX_SAFE_INTEGER, "user", "newest question"]
      ])
      const q = fake.executed[0]!
      expect(q.text).toContain("ORDER BY chat_id DESC, update_id DESC, role DESC")
      expect(q.parameters).toEqual({
        $p0: { type: "Int64", value: 6021488832n },
        $p1: { type: "Int64", value: 0n },
        $p2: { type: "Uint64", value: 3n }
      })

      const error = yield* Effect.flip(history.lastN(id(6021488832), 2))
      expect(error._tag).toBe("StoreError")
      expect(error.message).toContain("update_id")
      expect(error.message).not.toContain("too big")
    }).pipe(Effect.provide(stores())))

  it.live("record: a key conflict is Duplicate; pending and counts decode", () =>
    Effect.gen(function*() {
      fake.on("INSERT INTO `inbox`", rows(), status(StatusIds_StatusCode.PRECONDITION_FAILED, 2012, "Conflict with existing key."))
      fake.on(
        "VIEW `inbox_status`",
        rows({
          columns: ["update_id", "chat_id", "payload", "status", "received_at", "finished_at", "error", "delivered"],
          rows: [[
            new Int64(6021488832n),
            new Optional(new Int64(-1001234567890n), new Int64(0n).type),
            new Text("{}"),
            new Text("pending"),
            new Timestamp(new Date(1_764_300_000_123)),
            new Optional(null, new Timestamp(new Date(0)).type),
            new Optional(null, new Text("").type),
            // A row from before the column was added: no count, read as nothing sent.
            new Optional(null, new Uint32(0).type)
          ], [
            new Int64(6021488833n),
            new Optional(null, new Int64(0n).type),
            new Text("{}"),
            new Text("pending"),
            new Timestamp(new Date(1_764_300_000_124)),
            new Optional(null, new Timestamp(new Date(0)).type),
            new Optional(null, new Text("").type),
            new Optional(new Uint32(2), new Uint32(0).type)
          ]]
        }),
        rows({ columns: ["n"], rows: [[new Uint64(7n)]] })
      )
      const inbox = yield* Inbox
      expect(yield* inbox.record({ updateId: id(1), payload: "{}" })).toBe("New")
      expect(yield* inbox.record({ updateId: id(1), payload: "{}" })).toBe("Duplicate")
      expect(yield* inbox.pending(10)).toEqual([
        { updateId: 6021488832, chatId: -1001234567890, payload: "{}", status: "pending", receivedAt: 1_764_300_000_123, delivered: 0 },
        { updateId: 6021488833, payload: "{}", status: "pending", receivedAt: 1_764_300_000_124, delivered: 2 }
      ])
      expect(yield* inbox.pendingCount).toBe(7)
      expect(queriesLike("VIEW `inbox_status`")[0]?.text).toContain("ORDER BY update_id LIMIT $p1")
    }).pipe(Effect.provide(stores())))

  it.live("markDelivered sets the count as a Uint32 parameter, retried as idempotent; a bad count sends nothing", () =>
    Effect.gen(function*() {
      fake.on("SET delivered", status(StatusIds_StatusCode.UNDETERMINED), rows())
      const inbox = yield* Inbox
      yield* inbox.markDelivered(id(6021488832), 3)
      const sent = queriesLike("SET delivered")
      expect(sent).toHaveLength(2)
      expect(sent[0]?.text).toContain("UPDATE `inbox` SET delivered = $p0 WHERE update_id = $p1")
      expect(sent[0]?.parameters).toEqual({ $p0: { type: "Uint32", value: 3 }, $p1: { type: "Int64", value: 6021488832n } })
      const refused = yield* Effect.flip(inbox.markDelivered(id(1), -1))
      expect(refused).toMatchObject({ _tag: "StoreError", operation: "markDelivered", retryable: false })
      expect(queriesLike("SET delivered")).toHaveLength(2)
    }).pipe(Effect.provide(stores())))

  it.live("OVERLOADED, UNAVAILABLE and BAD_SESSION are retried until the query succeeds", () =>
    Effect.gen(function*() {
      fake.on(
        "UPDATE `clients` SET blocked",
        // The SDK backs off 2 s after OVERLOADED, 40 ms after UNAVAILABLE, not at all after BAD_SESSION.
        status(StatusIds_StatusCode.OVERLOADED),
        status(StatusIds_StatusCode.UNAVAILABLE),
        status(StatusIds_StatusCode.BAD_SESSION),
        rows()
      )
      const clients = yield* ClientStore
      const sessionsBefore = fake.stats.sessionsCreated
      yield* clients.setBlocked(id(5), true)
      expect(queriesLike("UPDATE `clients` SET blocked")).toHaveLength(4)
      expect(fake.stats.sessionsCreated - sessionsBefore).toBeGreaterThanOrEqual(1)
    }).pipe(Effect.provide(stores())), 20_000)

  it.live("UNDETERMINED: an idempotent update is retried, a non-idempotent insert is not", () =>
    Effect.gen(function*() {
      fake.on("UPDATE `inbox`", status(StatusIds_StatusCode.UNDETERMINED), rows())
      fake.on("INSERT INTO `inbox`", status(StatusIds_StatusCode.UNDETERMINED), rows())
      const inbox = yield* Inbox
      yield* inbox.markDone(id(9))
      expect(queriesLike("UPDATE `inbox`")).toHaveLength(2)

      const error = yield* Effect.flip(inbox.record({ updateId: id(9), payload: "{}" }))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "record", retryable: true })
      expect(error.message).toContain("UNDETERMINED")
      expect(queriesLike("INSERT INTO `inbox`")).toHaveLength(1)
    }).pipe(Effect.provide(stores())))

  it.live("a status that is not retryable fails at once with a StoreError", () =>
    Effect.gen(function*() {
      fake.on("FROM `messages`", status(StatusIds_StatusCode.SCHEME_ERROR, 2003, "Cannot find table"))
      const error = yield* Effect.flip((yield* HistoryStore).replyFor(id(1), id(2)))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "replyFor", retryable: false })
      expect(error.message).toContain("SCHEME_ERROR")
      expect(queriesLike("FROM `messages`")).toHaveLength(1)
    }).pipe(Effect.provide(stores())))

  it.live("a hanging query ends at YDB_QUERY_TIMEOUT and the call is cancelled on the server", () =>
    Effect.gen(function*() {
      fake.on("FROM `clients`", hang)
      const cancelled = fake.nextCancellation()
      // The query hangs for good on the server: only the 300 ms deadline can end the call.
      const error = yield* Effect.flip((yield* ClientStore).get(id(1)))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "get", message: "the query timed out" })
      yield* Effect.promise(() => cancelled)
      expect(queriesLike("FROM `clients`")).toHaveLength(1)
    }).pipe(Effect.provide(StoresYdb(options(fake.connectionString, { queryTimeout: Duration.millis(300) })))))

  it.live("interrupting the fiber cancels the query through its AbortSignal", () =>
    Effect.gen(function*() {
      fake.on("FROM `inbox`", hang)
      const inbox = yield* Inbox
      const cancelledBefore = fake.stats.cancelledQueries
      const fiber = yield* Effect.fork(inbox.entry(id(3)))
      while (queriesLike("FROM `inbox`").length === 0) yield* Effect.sleep("10 millis")
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      while (fake.stats.cancelledQueries === cancelledBefore) yield* Effect.sleep("10 millis")
      expect(fake.stats.cancelledQueries - cancelledBefore).toBe(1)
    }).pipe(Effect.provide(stores())))

  it.live("the driver is closed with the layer's scope", () =>
    Effect.gen(function*() {
      const attachedBefore = fake.stats.attachedNow
      yield* Effect.scoped(
        Effect.gen(function*() {
          const ctx = yield* Layer.build(stores())
          fake.on("FROM `inbox`", hang)
          const fiber = yield* Effect.fork(Effect.provide(Effect.flatMap(Inbox, (i) => i.entry(id(1))), ctx))
          while (fake.stats.attachedNow === attachedBefore) yield* Effect.sleep("10 millis")
          yield* Fiber.interrupt(fiber)
        })
      )
      // Closing the driver closes its channels; the server sees every attached session stream end.
      while (fake.stats.attachedNow > attachedBefore) yield* Effect.sleep("10 millis")
      expect(fake.stats.attachedNow).toBe(attachedBefore)
    }))

  it.live("migrate creates the tables with the inbox TTL (never below 24 hours)", () =>
    Effect.gen(function*() {
      const count = yield* migrateYdb(ydbTables("bot/"), "1 hour")
      expect(count).toBe(10)
      const texts = fake.executed.map((q) => q.text)
      expect(texts[0]).toContain("CREATE TABLE IF NOT EXISTS `bot/clients`")
      expect(texts[1]).toContain("PRIMARY KEY (chat_id, update_id, role)")
      expect(texts[2]).toContain("INDEX inbox_status GLOBAL SYNC ON (status, update_id)")
      expect(texts[2]).toContain('TTL = Interval("PT86400S") ON finished_at')
      expect(texts[3]).toBe('ALTER TABLE `bot/inbox` SET (TTL = Interval("PT86400S") ON finished_at)')
      expect(texts[4]).toContain("CREATE TABLE IF NOT EXISTS `bot/conversation_state`")
      expect(texts[5]).toContain("CREATE TABLE IF NOT EXISTS `bot/usage_entries`")
      expect(texts[6]).toContain("CREATE TABLE IF NOT EXISTS `bot/usage_credits`")
      expect(texts[7]).toContain("CREATE TABLE IF NOT EXISTS `bot/feedback_answers`")
      expect(texts[8]).toContain("CREATE TABLE IF NOT EXISTS `bot/feedback`")
      expect(texts[9]).toContain("CREATE TABLE IF NOT EXISTS `bot/conversation_summaries`")
      expect(texts[9]).toContain("PRIMARY KEY (chat_id, thread_id)")
      // The inbox has its delivered column: the probe compiles, nothing is altered.
      expect(texts[10]).toBe("SELECT delivered FROM `bot/inbox` LIMIT 0")
      // So has the messages table (its columns are in CREATE TABLE).
      expect(texts.slice(11)).toEqual(["SELECT thread_id FROM `bot/messages` LIMIT 0", "SELECT speaker FROM `bot/messages` LIMIT 0"])
      expect(texts[1]).toContain("thread_id Int64")
      expect(fake.executed.every((q) => Object.keys(q.parameters).length === 0)).toBe(true)
    }).pipe(Effect.provide(YdbClientDriver(options(fake.connectionString)))))

  it.live("migrate adds the delivered column to an inbox created before it, once", () =>
    Effect.gen(function*() {
      fake.on("SELECT delivered FROM", status(StatusIds_StatusCode.GENERIC_ERROR, 2017, "Member not found: delivered"), rows())
      const tables = ydbTables("")
      expect(yield* migrateYdb(tables, "1 day")).toBe(11)
      const texts = fake.executed.map((q) => q.text)
      expect(texts.slice(10, 12)).toEqual(["SELECT delivered FROM `inbox` LIMIT 0", "ALTER TABLE `inbox` ADD COLUMN delivered Uint32"])
      // The next deploy finds the column and alters nothing.
      fake.reset()
      expect(yield* migrateYdb(tables, "1 day")).toBe(10)
      expect(fake.executed.map((q) => q.text).filter((t) => t.includes("ADD COLUMN"))).toEqual([])
    }).pipe(Effect.provide(YdbClientDriver(options(fake.connectionString)))))

  it.live("migrate fails, altering nothing, when the probe fails for another reason than a missing column", () =>
    Effect.gen(function*() {
      fake.on("SELECT delivered FROM", status(StatusIds_StatusCode.UNAUTHORIZED, 1, "access denied"))
      const error = yield* Effect.flip(migrateYdb(ydbTables(""), "1 day"))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "migrate" })
      expect(error.message).toContain("UNAUTHORIZED")
      expect(fake.executed.map((q) => q.text).filter((t) => t.includes("ADD COLUMN"))).toEqual([])
    }).pipe(Effect.provide(YdbClientDriver(options(fake.connectionString)))))

  describe("every YDB store method against the fake YDB", () => {
    /** One transaction of the given outcome, serializable read-write, begun by its one query. */
    const serializable = (state: "committed" | "rolledBack", statement: string) => ({
      id: expect.any(String),
      mode: "serializableReadWrite",
      begun: "inline",
      state,
      queries: [expect.stringContaining(statement)]
    })

    it.live("updateProfile: one UPDATE that keeps the fields not given (COALESCE of null), then the stored client", () =>
      Effect.gen(function*() {
        fake.on("FROM `clients` WHERE id", rows(clientRow(6021488832n, "Anna")))
        const client = yield* (yield* ClientStore).updateProfile(id(6021488832), { name: "Anna K.", email: "a@example.com" })
        expect(client).toMatchObject({ id: 6021488832, firstName: "Anna", profile: { name: injection } })
        const [update, select] = fake.executed
        expect(update?.text).toMatch(/UPDATE `clients` SET\s+profile_name = COALESCE\(\$p0, profile_name\)/)
        expect(update?.parameters).toEqual({
          $p0: { type: "Optional<Utf8>", value: "Anna K." },
          $p1: { type: "Optional<Utf8>", value: null },
          $p2: { type: "Optional<Utf8>", value: "a@example.com" },
          $p3: { type: "Optional<Utf8>", value: null },
          $p4: { type: "Int64", value: 6021488832n }
        })
        expect(select?.parameters).toEqual({ $p0: { type: "Int64", value: 6021488832n } })
      }).pipe(Effect.provide(stores())))

    it.live("updateProfile of a client that does not exist is a StoreError naming it", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip((yield* ClientStore).updateProfile(id(77), { name: "x" }))
        expect(error).toMatchObject({ _tag: "StoreError", operation: "updateProfile", message: "no client 77" })
      }).pipe(Effect.provide(stores())))

    it.live("requestHandoff stores the time and the reason, then returns the stored client", () =>
      Effect.gen(function*() {
        fake.on("FROM `clients` WHERE id", rows(clientRow(5n, "Ben")))
        const before = BigInt(Date.now())
        const client = yield* (yield* ClientStore).requestHandoff(id(5), injection)
        const after = BigInt(Date.now())
        expect(client).toMatchObject({ id: 5, firstName: "Ben" })
        const [update] = queriesLike("UPDATE `clients` SET handoff_requested_at")
        expect(update?.parameters["$p1"]).toEqual({ type: "Utf8", value: injection })
        expect(update?.parameters["$p2"]).toEqual({ type: "Int64", value: 5n })
        const at = update?.parameters["$p0"]
        expect(at?.type).toBe("Int64")
        expect(at?.value).toBeGreaterThanOrEqual(before)
        expect(at?.value).toBeLessThanOrEqual(after)
      }).pipe(Effect.provide(stores())))

    it.live("replyFor reads the assistant row of the update back, or nothing", () =>
      Effect.gen(function*() {
        fake.on("FROM `messages`", rows(messageRows([[7n, 8n, "assistant", "the answer"]])), rows(messageRows([])))
        const history = yield* HistoryStore
        expect(yield* history.replyFor(id(7), id(8))).toEqual(Option.some("the answer"))
        expect(yield* history.replyFor(id(7), id(9))).toEqual(Option.none())
        expect(fake.executed[0]?.parameters).toEqual({
          $p0: { type: "Int64", value: 7n },
          $p1: { type: "Int64", value: 8n },
          $p2: { type: "Utf8", value: "assistant" }
        })
      }).pipe(Effect.provide(stores())))

    it.live("entry reads a finished entry back with its time and error, or nothing", () =>
      Effect.gen(function*() {
        fake.on(
          "FROM `inbox` WHERE update_id",
          rows(inboxRows([{ updateId: 6021488832n, status: "failed", finishedAt: 1_764_300_001_000, error: "model down" }])),
          rows(inboxRows([]))
        )
        const inbox = yield* Inbox
        expect(yield* inbox.entry(id(6021488832))).toEqual(Option.some({
          updateId: 6021488832,
          chatId: -1001234567890,
          payload: "{}",
          status: "failed",
          receivedAt: 1_764_300_000_123,
          finishedAt: 1_764_300_001_000,
          error: "model down",
          delivered: 1
        }))
        expect(yield* inbox.entry(id(1))).toEqual(Option.none())
      }).pipe(Effect.provide(stores())))

    it.live("markFailed sets status failed, the finish time and the reason as parameters", () =>
      Effect.gen(function*() {
        yield* (yield* Inbox).markFailed(id(6021488832), injection)
        const [update] = fake.executed
        expect(update?.text).toContain("UPDATE `inbox` SET status = $p0, finished_at = $p1, error = $p2")
        expect(update?.parameters).toMatchObject({
          $p0: { type: "Utf8", value: "failed" },
          $p1: { type: "Timestamp" },
          $p2: { type: "Optional<Utf8>", value: injection },
          $p3: { type: "Int64", value: 6021488832n }
        })
      }).pipe(Effect.provide(stores())))

    it.live("pending() without a limit reads the whole index, with no LIMIT", () =>
      Effect.gen(function*() {
        fake.on("VIEW `inbox_status`", rows(inboxRows([{ updateId: 3n, status: "pending" }, { updateId: 4n, status: "pending" }])))
        const pending = yield* (yield* Inbox).pending()
        expect(pending.map((e) => e.updateId)).toEqual([3, 4])
        const [select] = fake.executed
        expect(select?.text).toMatch(/VIEW `inbox_status`\s+WHERE status = \$p0 ORDER BY update_id$/)
        expect(select?.parameters).toEqual({ $p0: { type: "Utf8", value: "pending" } })
      }).pipe(Effect.provide(stores())))

    it.live("lastUpdateId is the highest update_id, or undefined for an empty inbox", () =>
      Effect.gen(function*() {
        fake.on("ORDER BY update_id DESC LIMIT 1", rows({ columns: ["update_id"], rows: [] }), rows({ columns: ["update_id"], rows: [[new Int64(6021488832n)]] }))
        const inbox = yield* Inbox
        expect(yield* inbox.lastUpdateId).toBeUndefined()
        expect(yield* inbox.lastUpdateId).toBe(6021488832)
        expect(fake.executed.map((q) => q.text)).toEqual([
          "SELECT update_id FROM `inbox` ORDER BY update_id DESC LIMIT 1",
          "SELECT update_id FROM `inbox` ORDER BY update_id DESC LIMIT 1"
        ])
      }).pipe(Effect.provide(stores())))

    it.live("clear counts and deletes a conversation in one serializable transaction, committed with its query", () =>
      Effect.gen(function*() {
        fake.on("SELECT COUNT(*) AS n FROM $chat", rows(countRows(3n)))
        const cleared = yield* (yield* HistoryStore).clear({ chatId: id(-1001234567890), threadId: 12 })
        expect(cleared).toBe(3)
        expect(fake.executed).toHaveLength(1)
        expect(fake.executed[0]?.parameters).toEqual({
          $p0: { type: "Int64", value: -1001234567890n },
          $p1: { type: "Int64", value: 12n },
          $p2: { type: "Int64", value: -1001234567890n },
          $p3: { type: "Int64", value: 12n }
        })
        // The conversation's summary goes in the same transaction.
        expect(fake.executed[0]?.text).toContain("DELETE FROM `conversation_summaries` WHERE chat_id = $p2 AND thread_id = $p3")
        expect(fake.transactions).toEqual([serializable("committed", "DELETE FROM `messages` ON SELECT * FROM $chat")])
      }).pipe(Effect.provide(stores())))

    it.live("summary is one key read of conversation_summaries; a missing row is none", () =>
      Effect.gen(function*() {
        const summaryRows = (text: string, upTo: bigint) => ({
          columns: ["text", "up_to", "at"],
          rows: [[new Text(text), new Int64(upTo), new Int64(1_764_400_000_000n)]]
        })
        fake.on("FROM `conversation_summaries`", rows(summaryRows(injection, 6021488832n)), rows({ columns: ["text", "up_to", "at"], rows: [] }))
        const history = yield* HistoryStore
        expect(yield* history.summary({ chatId: id(-1001234567890), threadId: 12 })).toEqual(
          Option.some({ text: injection, upTo: 6021488832, at: 1_764_400_000_000 })
        )
        expect(yield* history.summary(id(5))).toEqual(Option.none())
        expect(fake.executed[0]?.text).toMatch(/SELECT text, up_to, at FROM `conversation_summaries`\s+WHERE chat_id = \$p0 AND thread_id = \$p1/)
        expect(fake.executed[0]?.parameters).toEqual({ $p0: { type: "Int64", value: -1001234567890n }, $p1: { type: "Int64", value: 12n } })
        expect(fake.executed[1]?.parameters).toEqual({ $p0: { type: "Int64", value: 5n }, $p1: { type: "Int64", value: 0n } })
      }).pipe(Effect.provide(stores())))

    it.live("saveSummary writes only a summary reaching further, read and written in one serializable transaction", () =>
      Effect.gen(function*() {
        fake.on("SELECT $further AS stored", rows({ columns: ["stored"], rows: [[new Bool(true)]] }), rows({ columns: ["stored"], rows: [[new Bool(false)]] }))
        const history = yield* HistoryStore
        const summary = { text: nul, upTo: id(6021488832), at: 1_764_400_000_000 }
        expect(yield* history.saveSummary(id(5), summary)).toBe(true)
        expect(yield* history.saveSummary(id(5), summary)).toBe(false)
        const [first] = fake.executed
        expect(first?.text).toContain("$stored = (SELECT MAX(up_to) FROM `conversation_summaries`")
        expect(first?.text).toContain("$further = $stored IS NULL OR $stored < $p2")
        expect(first?.text).toContain("UPSERT INTO `conversation_summaries` (chat_id, thread_id, text, up_to, at)")
        expect(first?.text).toContain(") WHERE $further")
        expect(first?.parameters).toMatchObject({
          $p0: { type: "Int64", value: 5n },
          $p1: { type: "Int64", value: 0n },
          $p2: { type: "Int64", value: 6021488832n },
          $p5: { type: "Utf8", value: nul },
          $p6: { type: "Int64", value: 6021488832n },
          $p7: { type: "Int64", value: 1_764_400_000_000n }
        })
        expect(fake.transactions).toEqual([
          serializable("committed", "UPSERT INTO `conversation_summaries`"),
          serializable("committed", "UPSERT INTO `conversation_summaries`")
        ])
      }).pipe(Effect.provide(stores())))

    it.live("clear: an UNDETERMINED transaction is rolled back and not run again (the count would lie)", () =>
      Effect.gen(function*() {
        fake.on("SELECT COUNT(*) AS n FROM $chat", status(StatusIds_StatusCode.UNDETERMINED), rows(countRows(3n)))
        const error = yield* Effect.flip((yield* HistoryStore).clear(id(5)))
        expect(error).toMatchObject({ _tag: "StoreError", operation: "clear", retryable: true })
        expect(fake.transactions).toEqual([serializable("rolledBack", "DELETE FROM `messages`")])
      }).pipe(Effect.provide(stores())))

    it.live("clear: a transaction ABORTED by a conflict is rolled back and run again in a new one, which commits", () =>
      Effect.gen(function*() {
        fake.on("SELECT COUNT(*) AS n FROM $chat", status(StatusIds_StatusCode.ABORTED, 2001, "Transaction locks invalidated"), rows(countRows(2n)))
        expect(yield* (yield* HistoryStore).clear(id(5))).toBe(2)
        expect(fake.transactions).toEqual([serializable("rolledBack", "DELETE FROM `messages`"), serializable("committed", "DELETE FROM `messages`")])
        expect(new Set(fake.transactions.map((tx) => tx.id)).size).toBe(2)
      }).pipe(Effect.provide(stores())))

    it.effect("prune deletes finished entries older than the retention in one serializable transaction", () =>
      Effect.gen(function*() {
        yield* TestClock.setTime(1_764_400_000_000)
        fake.on("SELECT COUNT(*) AS n FROM $old", rows(countRows(4n)))
        expect(yield* (yield* Inbox).prune("2 days")).toBe(4)
        const [query] = fake.executed
        expect(query?.text).toContain("WHERE finished_at < $p0 AND status != $p1")
        expect(query?.parameters).toEqual({
          $p0: { type: "Timestamp", value: new Date(1_764_400_000_000 - 2 * 86_400_000) },
          $p1: { type: "Utf8", value: "pending" }
        })
        expect(fake.transactions).toEqual([serializable("committed", "DELETE FROM `inbox` ON SELECT * FROM $old")])
      }).pipe(Effect.provide(stores())))

    it.live("prune: a failed transaction is rolled back and its failure is a StoreError", () =>
      Effect.gen(function*() {
        fake.on("SELECT COUNT(*) AS n FROM $old", status(StatusIds_StatusCode.SCHEME_ERROR, 2003, "Cannot find table"))
        const error = yield* Effect.flip((yield* Inbox).prune("1 day"))
        expect(error).toMatchObject({ _tag: "StoreError", operation: "prune", retryable: false })
        expect(fake.transactions).toEqual([serializable("rolledBack", "DELETE FROM `inbox`")])
      }).pipe(Effect.provide(stores())))

    it.live("ConversationState.remove says whether a row was there, in one serializable transaction", () =>
      Effect.gen(function*() {
        fake.on("SELECT COUNT(*) AS n FROM $found", rows(countRows(1n)), rows(countRows(0n)))
        const state = yield* ConversationState
        expect(yield* state.remove("business:bc-1")).toBe(true)
        expect(yield* state.remove("business:bc-1")).toBe(false)
        expect(fake.executed[0]?.parameters).toEqual({ $p0: { type: "Utf8", value: "business:bc-1" } })
        expect(fake.transactions).toEqual([
          serializable("committed", "DELETE FROM `conversation_state` ON SELECT * FROM $found"),
          serializable("committed", "DELETE FROM `conversation_state` ON SELECT * FROM $found")
        ])
      }).pipe(Effect.provide(stores())))

    it.live("ConversationState.remove: an interrupted transaction is cancelled on the server and rolled back", () =>
      Effect.gen(function*() {
        fake.on("SELECT COUNT(*) AS n FROM $found", hang)
        const cancelled = fake.nextCancellation()
        const fiber = yield* Effect.fork((yield* ConversationState).remove("k"))
        while (fake.transactions.length === 0) yield* Effect.sleep("10 millis")
        yield* Fiber.interrupt(fiber)
        yield* Effect.promise(() => cancelled)
        expect(fake.transactions).toEqual([serializable("rolledBack", "DELETE FROM `conversation_state`")])
      }).pipe(Effect.provide(stores())))

    it.live("migrate adds thread_id and speaker to a messages table created before them", () =>
      Effect.gen(function*() {
        const missing = (column: string) => status(StatusIds_StatusCode.GENERIC_ERROR, 2017, `Member not found: ${column}`)
        fake.on("SELECT thread_id FROM", missing("thread_id"))
        fake.on("SELECT speaker FROM", missing("speaker"))
        expect(yield* migrateYdb(ydbTables("bot/"), "1 day")).toBe(12)
        expect(fake.executed.map((q) => q.text).slice(10)).toEqual([
          "SELECT delivered FROM `bot/inbox` LIMIT 0",
          "SELECT thread_id FROM `bot/messages` LIMIT 0",
          "ALTER TABLE `bot/messages` ADD COLUMN thread_id Int64",
          "SELECT speaker FROM `bot/messages` LIMIT 0",
          "ALTER TABLE `bot/messages` ADD COLUMN speaker Utf8"
        ])
      }).pipe(Effect.provide(YdbClientDriver(options(fake.connectionString)))))

    it.live("the real-YDB run's cleanup drops every table it made", () =>
      Effect.gen(function*() {
        yield* dropYdbTables(ydbTables("dialog_bot_test/run_x/"))
        expect(fake.executed.map((q) => q.text)).toEqual([
          "DROP TABLE `dialog_bot_test/run_x/clients`",
          "DROP TABLE `dialog_bot_test/run_x/messages`",
          "DROP TABLE `dialog_bot_test/run_x/inbox`",
          "DROP TABLE `dialog_bot_test/run_x/conversation_state`",
          "DROP TABLE `dialog_bot_test/run_x/usage_entries`",
          "DROP TABLE `dialog_bot_test/run_x/usage_credits`",
          "DROP TABLE `dialog_bot_test/run_x/feedback_answers`",
          "DROP TABLE `dialog_bot_test/run_x/feedback`",
          "DROP TABLE `dialog_bot_test/run_x/conversation_summaries`"
        ])
      }).pipe(Effect.provide(YdbClientDriver(options(fake.connectionString)))))
  })

  describe("YDB credentials reach the server", () => {
    const ticketsWith = (credentials: YdbCredentials) =>
      Effect.gen(function*() {
        yield* (yield* ClientStore).setBlocked(id(1), true)
        return fake.executed.map((q) => q.authTicket)
      }).pipe(Effect.provide(StoresYdb(options(fake.connectionString, { credentials }))))

    it.live("static: YDB_USER and YDB_PASSWORD log in, and queries carry the ticket", () =>
      Effect.gen(function*() {
        expect(yield* ticketsWith({ _tag: "Static", user: "bot", password: Redacted.make("s3cret") })).toEqual(["ticket-of-bot"])
        expect(fake.logins).toEqual([{ user: "bot", password: "s3cret" }])
      }))

    it.live("token: YDB_ACCESS_TOKEN is the ticket", () =>
      Effect.gen(function*() {
        expect(yield* ticketsWith({ _tag: "AccessToken", token: Redacted.make("t0ken") })).toEqual(["t0ken"])
        expect(fake.logins).toEqual([])
      }))

    it.live("metadata: the token of the metadata service is the ticket", () =>
      Effect.gen(function*() {
        const flavors: Array<string | undefined> = []
        const server = yield* Effect.acquireRelease(
          Effect.promise(() =>
            new Promise<Server>((resolve) => {
              const s = createServer((request, response) => {
                flavors.push(request.headers["metadata-flavor"]?.toString())
                response.writeHead(200, { "content-type": "application/json" })
                response.end(JSON.stringify({ access_token: "from-metadata", expires_in: 3600 }))
              })
              s.listen(0, "127.0.0.1", () => resolve(s))
            })
          ),
          (s) => Effect.promise(() => new Promise((resolve) => s.close(resolve)))
        )
        const address = server.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        const endpoint = `http://127.0.0.1:${port}/computeMetadata/v1/instance/service-accounts/default/token`
        expect(yield* ticketsWith({ _tag: "Metadata", endpoint })).toEqual(["from-metadata"])
        expect(flavors[0]).toBe("Google")
      }).pipe(Effect.scoped))

    it.live("anonymous: an empty ticket and no login", () =>
      Effect.gen(function*() {
        expect(yield* ticketsWith({ _tag: "Anonymous" })).toEqual([""])
        expect(fake.logins).toEqual([])
      }))
  })

  describe("YDB credential settings", () => {
    const credentialsFrom = (env: Record<string, string>) =>
      Effect.map(
        YdbConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries({ YDB_CONNECTION_STRING: "grpc://127.0.0.1:1/local", ...env }))))),
        (config) => config.credentials
      )

    it.effect("each credential is read from its variables", () =>
      Effect.gen(function*() {
        expect(yield* credentialsFrom({})).toEqual({ _tag: "Anonymous" })
        const staticCredentials = yield* credentialsFrom({ YDB_USER: "bot", YDB_PASSWORD: "s3cret" })
        expect(staticCredentials._tag === "Static" && [staticCredentials.user, Redacted.value(staticCredentials.password)]).toEqual(["bot", "s3cret"])
        const token = yield* credentialsFrom({ YDB_ACCESS_TOKEN: "t0ken" })
        expect(token._tag === "AccessToken" && Redacted.value(token.token)).toBe("t0ken")
        expect(yield* credentialsFrom({ YDB_METADATA_CREDENTIALS: "true" })).toEqual({ _tag: "Metadata" })
      }))

    it.effect("YDB_PASSWORD without YDB_USER is a configuration error, not anonymous access", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(credentialsFrom({ YDB_PASSWORD: "s3cret" }))
        expect(ConfigError.isMissingData(error)).toBe(true)
        expect(String(error)).toContain("YDB_PASSWORD is set without YDB_USER")
        expect(String(error)).not.toContain("s3cret")
      }))

    it.effect("YDB_USER without YDB_PASSWORD is a configuration error", () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(credentialsFrom({ YDB_USER: "bot" }))
        expect(String(error)).toContain("YDB_USER is set without YDB_PASSWORD")
      }))
  })

  describe("the guard against the SDK's unawaited background calls", () => {
    /**
     * Runs `effect` with the process's other `unhandledRejection` listeners (vitest's, which fail
     * the run on any) set aside and the guard left in place, and returns the first unhandled
     * rejection the process sees.
     */
    const firstUnhandledRejection = <E, R>(effect: Effect.Effect<unknown, E, R>) =>
      Effect.gen(function*() {
        const seen = yield* Deferred.make<unknown>()
        const catcher = (reason: unknown) => Deferred.unsafeDone(seen, Exit.succeed(reason))
        yield* Effect.acquireRelease(
          Effect.sync(() => {
            const set = process.listeners("unhandledRejection").filter((l) => l !== dropSdkBackgroundFailures)
            for (const listener of set) process.off("unhandledRejection", listener)
            process.on("unhandledRejection", catcher)
            return set
          }),
          (set) =>
            Effect.sync(() => {
              process.off("unhandledRejection", catcher)
              for (const listener of set) process.on("unhandledRejection", listener)
            })
        )
        yield* effect
        return yield* Deferred.await(seen).pipe(Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => "no unhandled rejection" }))
      }).pipe(Effect.scoped)

    it.live("@ydbjs 6.0.4 deletes each query's session without awaiting it: a failed DeleteSession rejects unhandled, and the guard drops it", () =>
      Effect.gen(function*() {
        const clients = yield* ClientStore
        // The first driver installed the guard.
        expect(process.listeners("unhandledRejection")).toContain(dropSdkBackgroundFailures)
        fake.failDeleteSession = Status.UNAVAILABLE
        const reason = yield* firstUnhandledRejection(clients.setBlocked(id(1), true))
        fake.failDeleteSession = undefined
        expect(reason).toBeInstanceOf(Error)
        expect(String(reason)).toContain("DeleteSession")
        expect(String(reason)).toContain("scripted DeleteSession failure")
        // Dropped: the listener returns, the process goes on.
        expect(() => dropSdkBackgroundFailures(reason)).not.toThrow()
        // Any other unhandled rejection still crashes the process as before.
        const other = new Error("a bug of our own")
        expect(() => dropSdkBackgroundFailures(other)).toThrow(other)
        expect(() => dropSdkBackgroundFailures("a string")).toThrow()
      }).pipe(Effect.provide(StoresYdb(options(fake.connectionString)))))
  })
})

describe("YDB connection failures are typed errors", () => {
  const failure = <A>(layer: Layer.Layer<A, StoreError>) =>
    Effect.scoped(Layer.build(layer)).pipe(
      Effect.exit,
      Effect.map((exit) => {
        expect(Exit.isFailure(exit)).toBe(true)
        return Exit.isFailure(exit) ? Option.getOrThrow(Cause.failureOption(exit.cause)) : undefined
      })
    )

  it.live("an endpoint nobody listens on fails the layer after the connect timeout", () =>
    Effect.gen(function*() {
      const closed = yield* Effect.promise(() => startFakeYdb())
      yield* Effect.promise(() => closed.close())
      const error = yield* failure(StoresYdb(options(closed.connectionString, { connectTimeout: Duration.millis(500) })))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "connect" })
      expect(error?.message).toContain(`cannot reach YDB at grpc://127.0.0.1:${closed.port}/local`)
    }))

  it.live("a malformed connection string is a StoreError that shows no credentials", () =>
    Effect.gen(function*() {
      const error = yield* failure(YdbClientDriver(options("ftp://user:secret@127.0.0.1:1/local")))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "connect" })
      expect(error?.message).toContain("invalid YDB_CONNECTION_STRING")
      expect(error?.message).not.toContain("secret")
    }))
})

// ── the contract against a real YDB ────────────────────────────────────────────────────

const realYdb = process.env["TEST_YDB_CONNECTION_STRING"]
const realOptions = (connectionString: string) =>
  options(connectionString, { queryTimeout: Duration.seconds(20), connectTimeout: Duration.seconds(20) })

/** Tables of this run under their own directory, created before the suite's tests and dropped after them. */
const realTables = ydbTables(`dialog_bot_test/run_${Date.now().toString(36)}/`)
const realYdbLayer: Layer.Layer<Stores, StoreError> = realYdb === undefined
  ? Layer.die("TEST_YDB_CONNECTION_STRING is not set")
  : Layer.merge(StoresOnYdb(realTables), Layer.effectDiscard(migrateYdb(realTables, "1 day"))).pipe(
    Layer.provide(YdbClientDriver(realOptions(realYdb)))
  )

storeContract("ydb (real server)", realYdbLayer, {
  skip: realYdb === undefined ? "set TEST_YDB_CONNECTION_STRING to run it against a YDB server" : undefined
})

if (realYdb !== undefined) {
  afterAll(() => Effect.runPromise(dropYdbTables(realTables).pipe(Effect.provide(YdbClientDriver(realOptions(realYdb))))))
}
