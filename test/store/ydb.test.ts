/**
 * The YDB stores through the real SDK (@ydbjs/core + @ydbjs/query over gRPC):
 * - against an in-process fake of YDB's Discovery and Query services, always: the YQL and the
 *   typed parameters sent, the decoding of result sets, retries, timeouts, cancellation and
 *   connection failures;
 * - the store contract against a real YDB when YDB_CONNECTION_STRING is set.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { Optional } from "@ydbjs/value/optional"
import { Bool, Int64, Text, Timestamp, Uint32, Uint64 } from "@ydbjs/value/primitive"
import { Cause, Duration, Effect, Exit, Fiber, Layer, Option } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { ConversationState } from "../../src/store/ConversationState.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import type { YdbCredentials } from "../../src/store/StoreConfig.ts"
import { YdbClientDriver, type YdbConnectionOptions } from "../../src/store/ydb/YdbClient.ts"
import { migrateYdb, ydbTables } from "../../src/store/ydb/schema.ts"
import { StoresOnYdb, StoresYdb } from "../../src/store/ydb/YdbStores.ts"
import { type FakeYdb, hang, rows, startFakeYdb, status } from "../support/FakeYdb.ts"
import { id, injection, nul, storeContract } from "./contract.ts"

const anonymous: YdbCredentials = { _tag: "Anonymous" }

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
      const cancelledBefore = fake.stats.cancelledQueries
      const started = Date.now()
      const error = yield* Effect.flip((yield* ClientStore).get(id(1)))
      const elapsed = Date.now() - started
      expect(error).toMatchObject({ _tag: "StoreError", operation: "get", message: "the query timed out" })
      expect(elapsed).toBeLessThan(4_000)
      yield* Effect.promise(() => new Promise((r) => setTimeout(r, 100)))
      expect(fake.stats.cancelledQueries - cancelledBefore).toBe(1)
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
      expect(count).toBe(7)
      const texts = fake.executed.map((q) => q.text)
      expect(texts[0]).toContain("CREATE TABLE IF NOT EXISTS `bot/clients`")
      expect(texts[1]).toContain("PRIMARY KEY (chat_id, update_id, role)")
      expect(texts[2]).toContain("INDEX inbox_status GLOBAL SYNC ON (status, update_id)")
      expect(texts[2]).toContain('TTL = Interval("PT86400S") ON finished_at')
      expect(texts[3]).toBe('ALTER TABLE `bot/inbox` SET (TTL = Interval("PT86400S") ON finished_at)')
      expect(texts[4]).toContain("CREATE TABLE IF NOT EXISTS `bot/conversation_state`")
      expect(texts[5]).toContain("CREATE TABLE IF NOT EXISTS `bot/usage_entries`")
      expect(texts[6]).toContain("CREATE TABLE IF NOT EXISTS `bot/usage_credits`")
      // The inbox has its delivered column: the probe compiles, nothing is altered.
      expect(texts[7]).toBe("SELECT delivered FROM `bot/inbox` LIMIT 0")
      // So has the messages table (its columns are in CREATE TABLE).
      expect(texts.slice(8)).toEqual(["SELECT thread_id FROM `bot/messages` LIMIT 0", "SELECT speaker FROM `bot/messages` LIMIT 0"])
      expect(texts[1]).toContain("thread_id Int64")
      expect(fake.executed.every((q) => Object.keys(q.parameters).length === 0)).toBe(true)
    }).pipe(Effect.provide(YdbClientDriver(options(fake.connectionString)))))

  it.live("migrate adds the delivered column to an inbox created before it, once", () =>
    Effect.gen(function*() {
      fake.on("SELECT delivered FROM", status(StatusIds_StatusCode.GENERIC_ERROR, 2017, "Member not found: delivered"), rows())
      const tables = ydbTables("")
      expect(yield* migrateYdb(tables, "1 day")).toBe(8)
      const texts = fake.executed.map((q) => q.text)
      expect(texts.slice(7, 9)).toEqual(["SELECT delivered FROM `inbox` LIMIT 0", "ALTER TABLE `inbox` ADD COLUMN delivered Uint32"])
      // The next deploy finds the column and alters nothing.
      fake.reset()
      expect(yield* migrateYdb(tables, "1 day")).toBe(7)
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

const realYdb = process.env["YDB_CONNECTION_STRING"]

/** Tables of this run under their own directory, created before the suite's tests. */
const realTables = ydbTables(`dialog_bot_test/run_${Date.now().toString(36)}/`)
const realYdbLayer: Layer.Layer<Stores, StoreError> = realYdb === undefined
  ? Layer.die("YDB_CONNECTION_STRING is not set")
  : Layer.merge(StoresOnYdb(realTables), Layer.effectDiscard(migrateYdb(realTables, "1 day"))).pipe(
    Layer.provide(YdbClientDriver(options(realYdb, { queryTimeout: Duration.seconds(20), connectTimeout: Duration.seconds(20) })))
  )

storeContract("ydb (real server)", realYdbLayer, {
  skip: realYdb === undefined ? "set YDB_CONNECTION_STRING to run it against a YDB server" : undefined
})
