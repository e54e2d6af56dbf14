/**
 * The usage ledger on YDB: its YQL and parameters against the fake YDB (always), and the
 * ledger contract against a real YDB when TEST_YDB_CONNECTION_STRING is set.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "@effect/vitest"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { Int64 } from "@ydbjs/value/primitive"
import { Duration, Effect, Layer } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { migrateYdb, schemaStatements, ydbTables } from "../../src/store/ydb/schema.ts"
import { YdbClientDriver, type YdbConnectionOptions } from "../../src/store/ydb/YdbClient.ts"
import { StoresOnYdb, StoresYdb } from "../../src/store/ydb/YdbStores.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { type FakeYdb, rows, startFakeYdb, status } from "../support/FakeYdb.ts"
import { ledgerContract } from "./ledgerContract.ts"

const options = (connectionString: string, timeout = Duration.seconds(5)): YdbConnectionOptions => ({
  connectionString,
  credentials: { _tag: "Anonymous" },
  queryTimeout: timeout,
  connectTimeout: timeout
})

const id = (n: number) => n as TelegramId

describe("the usage ledger on YDB (fake YDB)", () => {
  let fake: FakeYdb
  beforeAll(async () => {
    fake = await startFakeYdb()
  })
  afterAll(async () => {
    await fake.close()
  })
  beforeEach(() => fake.reset())
  const stores = () => StoresYdb(options(fake.connectionString))

  it("the schema has both ledger tables, keyed as the other stores key them", () => {
    const ddl = schemaStatements(ydbTables("bot/"), "1 day").join("\n")
    expect(ddl).toContain("CREATE TABLE IF NOT EXISTS `bot/usage_entries`")
    expect(ddl).toContain("PRIMARY KEY (chat_id, update_id, stage, model)")
    expect(ddl).toContain("CREATE TABLE IF NOT EXISTS `bot/usage_credits`")
  })

  it.live("a turn is one INSERT of all its entries as a list parameter, then the reply's INSERT", () =>
    Effect.gen(function*() {
      const ledger = yield* UsageLedger
      const history = yield* HistoryStore
      const entry = {
        userId: id(7), chatId: id(-1001234567890), updateId: id(6021488832), stage: "think", model: "m",
        promptTokens: 9, cachedPromptTokens: 0, completionTokens: 2, reasoningTokens: 0, paidTokens: 0, at: 5
      }
      yield* ledger.recordTurn([entry, { ...entry, stage: "synthesize" }], history.append({ chatId: id(-1001234567890), updateId: id(6021488832), role: "assistant", text: "hi", at: 5 }))
      const texts = fake.executed.map((q) => q.text)
      expect(texts.findIndex((t) => t.includes("INSERT INTO `usage_entries`"))).toBeLessThan(texts.findIndex((t) => t.includes("INSERT INTO `messages`")))
      expect(texts.findIndex((t) => t.includes("INSERT INTO `usage_entries`"))).toBeGreaterThanOrEqual(0)
      const insert = fake.executed.find((q) => q.text.includes("INSERT INTO `usage_entries` SELECT * FROM AS_TABLE("))
      expect(insert).toBeDefined()
      // One parameter, the list of rows (the fake names a list type `listType`).
      expect(Object.values(insert!.parameters).map((p) => p.type)).toEqual(["listType"])
    }).pipe(Effect.provide(stores())))

  it.live("a credit whose id exists (a key conflict) is not credited again", () =>
    Effect.gen(function*() {
      fake.on("INSERT INTO `usage_credits`", rows(), status(StatusIds_StatusCode.PRECONDITION_FAILED, 2012, "Conflict with existing key."))
      const ledger = yield* UsageLedger
      const credit = { id: "charge-1", userId: id(7), kind: "stars", tokens: 100, stars: 50, at: 1 } as const
      expect(yield* ledger.credit(credit)).toBe(true)
      expect(yield* ledger.credit(credit)).toBe(false)
    }).pipe(Effect.provide(stores())))

  it.live("a user's totals are one query, decoded from Int64 columns", () =>
    Effect.gen(function*() {
      fake.on("AS this_month", rows({
        columns: ["today", "this_month", "paid", "credited"],
        rows: [[new Int64(120n), new Int64(240n), new Int64(27n), new Int64(100000n)]]
      }))
      const ledger = yield* UsageLedger
      expect(yield* ledger.userTotals(id(7), 10, 1)).toEqual({ today: 120, thisMonth: 240, credited: 100000, paid: 27 })
      const query = fake.executed.find((q) => q.text.includes("AS this_month"))!
      expect(query.text).toContain("VIEW `usage_entries_user`")
      expect(query.text).not.toContain("10")
    }).pipe(Effect.provide(stores())))
})

const realYdb = process.env["TEST_YDB_CONNECTION_STRING"]
const realTables = ydbTables(`dialog_bot_test/usage_${Date.now().toString(36)}/`)
const realYdbLayer: Layer.Layer<Stores, StoreError> = realYdb === undefined
  ? Layer.die("TEST_YDB_CONNECTION_STRING is not set")
  : Layer.merge(StoresOnYdb(realTables), Layer.effectDiscard(migrateYdb(realTables, "1 day"))).pipe(
    Layer.provide(YdbClientDriver(options(realYdb, Duration.seconds(20))))
  )

ledgerContract("ydb (real server)", realYdbLayer, {
  skip: realYdb === undefined ? "set TEST_YDB_CONNECTION_STRING to run it against a YDB server" : undefined
})
