/**
 * Feedback on YDB: its YQL and typed parameters against the fake YDB (always), and the feedback
 * store contract against a real YDB when TEST_YDB_CONNECTION_STRING is set.
 */
import { describe, expect, it } from "@effect/vitest"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import { Int64, Text } from "@ydbjs/value/primitive"
import { Effect, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { FeedbackStore } from "../../src/store/FeedbackStore.ts"
import { schemaStatements, ydbTables } from "../../src/store/ydb/schema.ts"
import { rows, status } from "../support/FakeYdb.ts"
import { fakeYdbStores, realYdbStores } from "../support/YdbStoresForTests.ts"
import { feedbackContract } from "./feedbackContract.ts"

const id = (n: number) => n as TelegramId
const chat = -1001234567890
const answer = {
  chatId: id(chat), messageId: 4711, updateId: id(6021488832), userId: id(61),
  question: "When do you open?", answer: "We open at 9.", at: 1_764_300_050_000
}
/** A joined row as YDB returns it: Int64 columns, Utf8 text. */
const feedbackRow = {
  columns: ["chat_id", "message_id", "update_id", "user_id", "question", "answer", "at", "kind", "emoji", "reacted_by", "reacted_at"],
  rows: [[
    new Int64(BigInt(chat)), new Int64(4711n), new Int64(6021488832n), new Int64(61n), new Text("When do you open?"), new Text("We open at 9."),
    new Int64(1_764_300_050_000n), new Text("negative"), new Text("👎"), new Int64(61n), new Int64(1_764_300_100_000n)
  ]]
}
const expected = { ...answer, kind: "negative", emoji: "👎", reactedBy: id(61), reactedAt: 1_764_300_100_000 }

describe("feedback on YDB (fake YDB)", () => {
  const { fake: fakeYdb, stores } = fakeYdbStores()

  it("the schema has both feedback tables, keyed by the message and by the message and the user", () => {
    const ddl = schemaStatements(ydbTables("bot/"), "1 day").join("\n")
    expect(ddl).toContain("CREATE TABLE IF NOT EXISTS `bot/feedback_answers`")
    expect(ddl).toContain("PRIMARY KEY (chat_id, message_id)")
    expect(ddl).toContain("CREATE TABLE IF NOT EXISTS `bot/feedback`")
    expect(ddl).toContain("PRIMARY KEY (chat_id, message_id, reacted_by)")
  })

  it.live("an answer is one INSERT with typed parameters; one recorded before (a key conflict) is no failure", () =>
    Effect.gen(function*() {
      fakeYdb().on("INSERT INTO `feedback_answers`", rows(), status(StatusIds_StatusCode.PRECONDITION_FAILED, 2012, "Conflict with existing key."))
      const store = yield* FeedbackStore
      yield* store.recordAnswer(answer)
      yield* store.recordAnswer(answer)
      const inserts = fakeYdb().executed.filter((q) => q.text.includes("INSERT INTO `feedback_answers`"))
      expect(inserts).toHaveLength(2)
      expect(Object.values(inserts[0]!.parameters).map((p) => [p.type, p.value])).toEqual([
        ["Int64", BigInt(chat)], ["Int64", 4711n], ["Int64", 6021488832n], ["Int64", 61n],
        ["Utf8", "When do you open?"], ["Utf8", "We open at 9."], ["Int64", 1_764_300_050_000n]
      ])
      expect(inserts[0]!.text).not.toContain("When do you open?")
    }).pipe(Effect.provide(stores())))

  it.live("a reaction on a known answer is an UPSERT, read back joined with the answer", () =>
    Effect.gen(function*() {
      fakeYdb().on("SELECT chat_id FROM `feedback_answers`", rows({ columns: ["chat_id"], rows: [[new Int64(BigInt(chat))]] }))
      fakeYdb().on("UPSERT INTO `feedback`", rows(feedbackRow))
      const store = yield* FeedbackStore
      const kept = yield* store.react({
        chatId: id(chat), messageId: 4711, reactedBy: id(61), reactedAt: 1_764_300_100_000, feedback: Option.some({ kind: "negative", emoji: "👎" })
      })
      expect(kept).toEqual(Option.some(expected))
      const upsert = fakeYdb().executed.find((q) => q.text.includes("UPSERT INTO `feedback`"))!
      expect(upsert.text).toContain("JOIN `feedback_answers` AS a")
      expect(Object.values(upsert.parameters).map((p) => p.value)).toEqual(expect.arrayContaining(["negative", "👎", 1_764_300_100_000n]))
      expect(fakeYdb().executed.some((q) => q.text.includes("DELETE"))).toBe(false)
    }).pipe(Effect.provide(stores())))

  it.live("a reaction on a message that is not a known answer, or taken away, deletes the user's reaction and keeps nothing", () =>
    Effect.gen(function*() {
      const store = yield* FeedbackStore
      const reaction = { chatId: id(chat), messageId: 4712, reactedBy: id(61), reactedAt: 1, feedback: Option.some({ kind: "negative" as const, emoji: "👎" }) }
      expect(yield* store.react(reaction)).toEqual(Option.none())
      fakeYdb().on("SELECT chat_id FROM `feedback_answers`", rows({ columns: ["chat_id"], rows: [[new Int64(BigInt(chat))]] }))
      expect(yield* store.react({ ...reaction, feedback: Option.none() })).toEqual(Option.none())
      const texts = fakeYdb().executed.map((q) => q.text)
      expect(texts.filter((t) => t.includes("DELETE FROM `feedback`"))).toHaveLength(2)
      expect(texts.some((t) => t.includes("UPSERT"))).toBe(false)
    }).pipe(Effect.provide(stores())))

  it.live("the list is one query, the kind an optional parameter, decoded from Int64 and Utf8 columns", () =>
    Effect.gen(function*() {
      fakeYdb().on("ORDER BY reacted_at", rows(feedbackRow))
      const store = yield* FeedbackStore
      expect(yield* store.list({ since: 1_764_300_000_000, kind: "negative" })).toEqual([expected])
      expect(yield* store.list({})).toEqual([expected])
      const [one, all] = fakeYdb().executed.filter((q) => q.text.includes("ORDER BY reacted_at"))
      expect(Object.values(one!.parameters).map((p) => p.value)).toEqual([1_764_300_000_000n, "negative", "negative"])
      expect(Object.values(all!.parameters).map((p) => [p.type, p.value])).toEqual([["Int64", 0n], ["Optional<Utf8>", null], ["Optional<Utf8>", null]])
    }).pipe(Effect.provide(stores())))
})

const real = realYdbStores("feedback")
feedbackContract("ydb (real server)", real.layer, { skip: real.skip })
