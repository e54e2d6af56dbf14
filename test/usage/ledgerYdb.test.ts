/**
 * The usage ledger on YDB: its YQL and parameters against the fake YDB (always), and the
 * ledger contract against a real YDB when TEST_YDB_CONNECTION_STRING is set.
 */
import { describe, expect, it } from "@effect/vitest"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { Int64 } from "@ydbjs/value/primitive"
import { Effect } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { schemaStatements, ydbTables } from "../../src/store/ydb/schema.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { rows, status } from "../support/FakeYdb.ts"
import { fakeYdbStores, realYdbStores } from "../support/YdbStoresForTests.ts"
import { ledgerContract } from "./ledgerContract.ts"

const id = (n: number) => n as TelegramId

describe("the usage ledger on YDB (fake YDB)", () => {
  const { fake: fakeYdb, stores } = fakeYdbStores()

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
      const texts = fakeYdb().executed.map((q) => q.text)
      expect(texts.findIndex((t) => t.includes("INSERT INTO `usage_entries`"))).toBeLessThan(texts.findIndex((t) => t.includes("INSERT INTO `messages`")))
      expect(texts.findIndex((t) => t.includes("INSERT INTO `usage_entries`"))).toBeGreaterThanOrEqual(0)
      const insert = fakeYdb().executed.find((q) => q.text.includes("INSERT INTO `usage_entries` SELECT * FROM AS_TABLE("))
      expect(insert).toBeDefined()
      // One parameter, the list of rows (the fake names a list type `listType`).
      expect(Object.values(insert!.parameters).map((p) => p.type)).toEqual(["listType"])
    }).pipe(Effect.provide(stores())))

  it.live("a credit whose id exists (a key conflict) is not credited again", () =>
    Effect.gen(function*() {
      fakeYdb().on("INSERT INTO `usage_credits`", rows(), status(StatusIds_StatusCode.PRECONDITION_FAILED, 2012, "Conflict with existing key."))
      const ledger = yield* UsageLedger
      const credit = { id: "charge-1", userId: id(7), kind: "stars", tokens: 100, stars: 50, at: 1 } as const
      expect(yield* ledger.credit(credit)).toBe(true)
      expect(yield* ledger.credit(credit)).toBe(false)
    }).pipe(Effect.provide(stores())))

  it.live("a user's totals are one query, decoded from Int64 columns", () =>
    Effect.gen(function*() {
      fakeYdb().on("AS this_month", rows({
        columns: ["today", "this_month", "paid", "credited"],
        rows: [[new Int64(120n), new Int64(240n), new Int64(27n), new Int64(100000n)]]
      }))
      const ledger = yield* UsageLedger
      expect(yield* ledger.userTotals(id(7), 10, 1)).toEqual({ today: 120, thisMonth: 240, credited: 100000, paid: 27 })
      const query = fakeYdb().executed.find((q) => q.text.includes("AS this_month"))!
      expect(query.text).toContain("VIEW `usage_entries_user`")
      expect(query.text).not.toContain("10")
    }).pipe(Effect.provide(stores())))
})

const real = realYdbStores("usage")
ledgerContract("ydb (real server)", real.layer, { skip: real.skip })
