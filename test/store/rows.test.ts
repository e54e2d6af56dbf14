/**
 * The rows the SQL stores share: values brought to plain form at the driver's edge (64-bit
 * integers exact or refused), one decoding into clients, history messages and inbox entries,
 * and a row that does not match named by its field, never by its value.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import {
  decodeClients,
  decodeCount,
  decodeInboxEntries,
  decodeLastUpdateId,
  decodeMessages,
  plainRows,
  plainValue
} from "../../src/store/rows.ts"
import { injection } from "./contract.ts"

const clientRow = {
  id: 6021488832,
  first_name: "Anna",
  last_name: null,
  username: "anna",
  language_code: null,
  profile_name: injection,
  profile_phone: null,
  profile_email: null,
  profile_notes: null,
  blocked: 0,
  handoff_requested_at: null,
  handoff_reason: null,
  created_at: 1_764_300_000_000
}

describe("plain values", () => {
  it("a bigint exact in a number becomes that number; a larger one stays a bigint", () => {
    expect(plainValue(6021488832n)).toBe(6021488832)
    expect(plainValue(BigInt(Number.MAX_SAFE_INTEGER))).toBe(Number.MAX_SAFE_INTEGER)
    expect(plainValue(BigInt(Number.MIN_SAFE_INTEGER))).toBe(Number.MIN_SAFE_INTEGER)
    expect(plainValue(BigInt(Number.MAX_SAFE_INTEGER) + 1n)).toBe(BigInt(Number.MAX_SAFE_INTEGER) + 1n)
    expect(plainValue(-(2n ** 60n))).toBe(-(2n ** 60n))
  })

  it("a date becomes epoch milliseconds, a boolean 0 or 1; strings, numbers and null stay", () => {
    expect(plainValue(new Date(1_764_300_000_123))).toBe(1_764_300_000_123)
    expect([plainValue(true), plainValue(false)]).toEqual([1, 0])
    expect([plainValue("x"), plainValue(7), plainValue(null)]).toEqual(["x", 7, null])
  })

  it("plainRows converts every column of every row", () => {
    expect(plainRows([{ id: 1n, blocked: true, at: new Date(5), text: "t", none: null }])).toEqual([
      { id: 1, blocked: 1, at: 5, text: "t", none: null }
    ])
  })
})

describe("rows as records", () => {
  it.effect("a client row: null columns are absent fields, the flag a boolean, 64-bit ids exact", () =>
    Effect.gen(function*() {
      const [client] = yield* decodeClients("get", "clients")([clientRow])
      expect(client).toEqual({
        id: 6021488832,
        firstName: "Anna",
        username: "anna",
        profile: { name: injection },
        blocked: false,
        createdAt: 1_764_300_000_000
      })
      const [blocked] = yield* decodeClients("get", "clients")([{ ...clientRow, blocked: 1, handoff_requested_at: 9, handoff_reason: "human" }])
      expect(blocked).toMatchObject({ blocked: true, handoffRequestedAt: 9, handoffReason: "human" })
    }))

  it.effect("message rows keep their order; inbox rows without a delivered count have sent nothing", () =>
    Effect.gen(function*() {
      const messages = yield* decodeMessages("lastN", "messages")([
        { chat_id: -1001234567890, update_id: Number.MAX_SAFE_INTEGER, role: "assistant", text: "b", at: 2 },
        { chat_id: -1001234567890, update_id: 1, role: "user", text: "a", at: 1 }
      ])
      expect(messages.map((m) => [m.chatId, m.updateId, m.role, m.text, m.at])).toEqual([
        [-1001234567890, Number.MAX_SAFE_INTEGER, "assistant", "b", 2],
        [-1001234567890, 1, "user", "a", 1]
      ])
      const inTopic = yield* decodeMessages("lastN", "messages")([
        { chat_id: -100, update_id: 3, role: "user", text: "c", at: 3, thread_id: 42, speaker: "Ann" },
        { chat_id: -100, update_id: 4, role: "user", text: "d", at: 4, thread_id: 0, speaker: null },
        { chat_id: -100, update_id: 5, role: "user", text: "e", at: 5, thread_id: null, speaker: null }
      ])
      expect(inTopic).toEqual([
        { chatId: -100, threadId: 42, updateId: 3, role: "user", text: "c", at: 3, speaker: "Ann" },
        { chatId: -100, updateId: 4, role: "user", text: "d", at: 4 },
        { chatId: -100, updateId: 5, role: "user", text: "e", at: 5 }
      ])
      const entries = yield* decodeInboxEntries("pending", "inbox")([
        { update_id: 1, chat_id: null, payload: "{}", status: "pending", received_at: 5, finished_at: null, error: null, delivered: null },
        { update_id: 2, chat_id: 7, payload: "{}", status: "failed", received_at: 5, finished_at: 6, error: "boom", delivered: 2 }
      ])
      expect(entries).toEqual([
        { updateId: 1, payload: "{}", status: "pending", receivedAt: 5, delivered: 0 },
        { updateId: 2, chatId: 7, payload: "{}", status: "failed", receivedAt: 5, delivered: 2, finishedAt: 6, error: "boom" }
      ])
    }))

  it.effect("counts and the last update_id: 0 and undefined without a row or value", () =>
    Effect.gen(function*() {
      expect(yield* decodeCount("pendingCount", "inbox")([{ n: 7 }])).toBe(7)
      expect(yield* decodeCount("pendingCount", "inbox")([])).toBe(0)
      expect(yield* decodeLastUpdateId("lastUpdateId", "inbox")([{ update_id: 6021488832 }])).toBe(6021488832)
      expect(yield* decodeLastUpdateId("lastUpdateId", "inbox")([{ update_id: null }])).toBeUndefined()
      expect(yield* decodeLastUpdateId("lastUpdateId", "inbox")([])).toBeUndefined()
    }))

  it.effect("a row that does not match is a StoreError naming the table and the field, not the value", () =>
    Effect.gen(function*() {
      const tooBig = plainRows([{ chat_id: 1n, update_id: 2n ** 60n, role: "user", text: "secret text", at: 1n }])
      const error = yield* Effect.flip(decodeMessages("lastN", "bot/messages")(tooBig))
      expect(error).toMatchObject({ _tag: "StoreError", operation: "lastN" })
      expect(error.message).toBe("a row of bot/messages does not match its schema at 0.update_id")
      const badFlag = yield* Effect.flip(decodeClients("get", "clients")([{ ...clientRow, blocked: 2 }]))
      expect(badFlag.message).toContain("blocked")
      expect(badFlag.message).not.toContain(injection)
    }))
})
