/**
 * The store contract: one suite every store layer (memory, SQLite, YDB) must pass.
 *
 * Tests use ids of their own (a random base per test) and count relative to what they wrote,
 * so that the suite also runs against a shared, persistent database.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Either, type Layer, Option, TestClock } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { ConversationState } from "../../src/store/ConversationState.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { handoffContract } from "./handoffContract.ts"

export const id = (n: number) => n as TelegramId

/** Ids of the kind Telegram sends and a JS number must keep exact. */
export const wideIds = {
  maxSafe: id(Number.MAX_SAFE_INTEGER),
  supergroup: id(-1001234567890),
  above2pow32: id(6021488832)
}

export const nul = "a\u0000b\u0000"
export const injection = "'; DROP TABLE clients; --"
export const hundredKb = "x".repeat(50_000) + "\u0000" + "é🙂".repeat(16_666)

/** A fresh id range per test: [base, base + 1_000_000). */
const freshBase = () => 1_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1_000_000

/** Starts the test clock at the wall clock, so stored times look real. */
const realisticClock = TestClock.setTime(Date.now())

export interface ContractOptions {
  /** Reason the suite cannot run here (it is then reported as skipped with this reason). */
  readonly skip?: string | undefined
}

export const storeContract = (
  name: string,
  layer: Layer.Layer<Stores, StoreError>,
  options: ContractOptions = {}
) => {
  const skip = options.skip !== undefined
  const title = skip ? `${name} (skipped: ${options.skip})` : name
  const test = <A>(label: string, body: () => Effect.Effect<A, StoreError, Stores>) =>
    it.effect.skipIf(skip)(label, () => Effect.provide(Effect.zipRight(realisticClock, Effect.suspend(body)), layer))

  describe(`store contract: ${title}`, () => {
    describe("ClientStore", () => {
      test("getOrCreate creates a client once and returns the stored one after", () =>
        Effect.gen(function*() {
          const clients = yield* ClientStore
          const uid = id(freshBase())
          const created = yield* clients.getOrCreate({ id: uid, firstName: "Anna", username: "anna", languageCode: "de" })
          expect(created).toMatchObject({ id: uid, firstName: "Anna", username: "anna", languageCode: "de", blocked: false, profile: {} })
          expect(created.lastName).toBeUndefined()
          const again = yield* clients.getOrCreate({ id: uid, firstName: "Changed" })
          expect(again).toEqual(created)
          expect(yield* clients.get(uid)).toEqual(Option.some(created))
          expect(yield* clients.get(id(uid + 1))).toEqual(Option.none())
        }))

      test("updateProfile sets the given fields and keeps the others", () =>
        Effect.gen(function*() {
          const clients = yield* ClientStore
          const uid = id(freshBase())
          yield* clients.getOrCreate({ id: uid, firstName: "Ben" })
          yield* clients.updateProfile(uid, { name: "Ben B.", phone: "+49 30 1234567" })
          const updated = yield* clients.updateProfile(uid, { email: "ben@example.org" })
          expect(updated.profile).toEqual({ name: "Ben B.", phone: "+49 30 1234567", email: "ben@example.org" })
          expect(Option.map(yield* clients.get(uid), (c) => c.profile)).toEqual(Option.some(updated.profile))
        }))

      test("updateProfile and requestHandoff of an unknown client fail with a StoreError", () =>
        Effect.gen(function*() {
          const clients = yield* ClientStore
          const uid = id(freshBase())
          const profile = yield* Effect.either(clients.updateProfile(uid, { name: "x" }))
          const handoff = yield* Effect.either(clients.requestHandoff(uid, "help"))
          for (const result of [profile, handoff]) {
            expect(Either.isLeft(result)).toBe(true)
            if (Either.isLeft(result)) expect(result.left._tag).toBe("StoreError")
          }
          expect(yield* clients.get(uid)).toEqual(Option.none())
        }))

      test("setBlocked flips the flag of a known client and creates nothing", () =>
        Effect.gen(function*() {
          const clients = yield* ClientStore
          const uid = id(freshBase())
          yield* clients.getOrCreate({ id: uid, firstName: "Cleo" })
          yield* clients.setBlocked(uid, true)
          expect(Option.map(yield* clients.get(uid), (c) => c.blocked)).toEqual(Option.some(true))
          yield* clients.setBlocked(uid, false)
          expect(Option.map(yield* clients.get(uid), (c) => c.blocked)).toEqual(Option.some(false))
          yield* clients.setBlocked(id(uid + 1), true)
          expect(yield* clients.get(id(uid + 1))).toEqual(Option.none())
        }))

      test("requestHandoff records the reason and the time", () =>
        Effect.gen(function*() {
          const clients = yield* ClientStore
          const uid = id(freshBase())
          yield* clients.getOrCreate({ id: uid, firstName: "Dana" })
          yield* TestClock.adjust("5 minutes")
          const now = yield* TestClock.currentTimeMillis
          const client = yield* clients.requestHandoff(uid, "wants a refund")
          expect(client.handoffReason).toBe("wants a refund")
          expect(client.handoffRequestedAt).toBe(now)
          expect(Option.map(yield* clients.get(uid), (c) => [c.handoffReason, c.handoffRequestedAt])).toEqual(
            Option.some(["wants a refund", now])
          )
        }))

      test("64-bit ids come back exact", () =>
        Effect.gen(function*() {
          const clients = yield* ClientStore
          for (const uid of Object.values(wideIds)) {
            const client = yield* clients.getOrCreate({ id: uid, firstName: "Wide" })
            expect(client.id).toBe(uid)
            expect(Option.map(yield* clients.get(uid), (c) => c.id)).toEqual(Option.some(uid))
          }
        }))

      test("NUL characters and SQL metacharacters are stored as text", () =>
        Effect.gen(function*() {
          const clients = yield* ClientStore
          const uid = id(freshBase())
          const created = yield* clients.getOrCreate({ id: uid, firstName: injection, lastName: nul, username: "o'brien\"--" })
          expect([created.firstName, created.lastName, created.username]).toEqual([injection, nul, "o'brien\"--"])
          const updated = yield* clients.updateProfile(uid, { notes: `${injection}${nul}`, name: "Robert'); DROP TABLE messages;--" })
          expect(updated.profile).toEqual({ notes: `${injection}${nul}`, name: "Robert'); DROP TABLE messages;--" })
          // The tables are still there.
          const other = yield* clients.getOrCreate({ id: id(uid + 1), firstName: "Still here" })
          expect(other.firstName).toBe("Still here")
        }))
    })

    describe("HistoryStore", () => {
      const message = (chatId: TelegramId, updateId: number, role: "user" | "assistant", text: string, at = 0) => ({
        chatId,
        updateId: id(updateId),
        role,
        text,
        at
      })

      test("lastN returns the last messages oldest first; appends are idempotent per (chat, update, role)", () =>
        Effect.gen(function*() {
          const history = yield* HistoryStore
          const chat = id(freshBase())
          const u = freshBase()
          yield* history.append(message(chat, u + 1, "user", "hi", 1))
          yield* history.append(message(chat, u + 1, "assistant", "hello", 2))
          yield* history.append(message(chat, u + 2, "user", "delivery?", 3))
          yield* history.append(message(chat, u + 1, "user", "hi again (ignored)", 4))
          yield* history.append(message(chat, u + 2, "assistant", "4.90 EUR", 5))
          const all = yield* history.lastN(chat, 10)
          expect(all.map((m) => [m.updateId - u, m.role, m.text])).toEqual([
            [1, "user", "hi"],
            [1, "assistant", "hello"],
            [2, "user", "delivery?"],
            [2, "assistant", "4.90 EUR"]
          ])
          expect(all[0]).toEqual(message(chat, u + 1, "user", "hi", 1))
          expect((yield* history.lastN(chat, 3)).map((m) => m.text)).toEqual(["hello", "delivery?", "4.90 EUR"])
          expect(yield* history.lastN(chat, 0)).toEqual([])
          expect(yield* history.lastN(chat, -5)).toEqual([])
          expect(yield* history.lastN(id(chat + 1), 10)).toEqual([])
        }))

      test("replyFor finds the stored reply of an update", () =>
        Effect.gen(function*() {
          const history = yield* HistoryStore
          const chat = id(freshBase())
          const u = freshBase()
          yield* history.append(message(chat, u, "user", "question"))
          expect(yield* history.replyFor(chat, id(u))).toEqual(Option.none())
          yield* history.append(message(chat, u, "assistant", "answer"))
          expect(yield* history.replyFor(chat, id(u))).toEqual(Option.some("answer"))
          expect(yield* history.replyFor(id(chat + 1), id(u))).toEqual(Option.none())
        }))

      test("clear removes one chat's history and says how many messages", () =>
        Effect.gen(function*() {
          const history = yield* HistoryStore
          const chat = id(freshBase())
          const other = id(chat + 1)
          const u = freshBase()
          for (let i = 0; i < 3; i++) yield* history.append(message(chat, u + i, "user", `m${i}`))
          yield* history.append(message(other, u, "user", "other chat"))
          expect(yield* history.clear(chat)).toBe(3)
          expect(yield* history.lastN(chat, 10)).toEqual([])
          expect(yield* history.clear(chat)).toBe(0)
          expect((yield* history.lastN(other, 10)).map((m) => m.text)).toEqual(["other chat"])
        }))

      test("each forum topic is a conversation of its own: history, order and clear per topic", () =>
        Effect.gen(function*() {
          const history = yield* HistoryStore
          const chat = id(freshBase())
          const u = freshBase()
          const topic = 77
          yield* history.append(message(chat, u + 1, "user", "in General", 1))
          yield* history.append({ ...message(chat, u + 2, "user", "in the topic", 2), threadId: topic, speaker: "Ann" })
          yield* history.append({ ...message(chat, u + 2, "assistant", "topic answer", 3), threadId: topic })
          yield* history.append({ ...message(chat, u + 3, "user", "another topic", 4), threadId: topic + 1 })
          // The same (chat, update, role) in another topic is the same message: ignored.
          yield* history.append({ ...message(chat, u + 1, "user", "again (ignored)", 5), threadId: topic })
          expect((yield* history.lastN(chat, 10)).map((m) => m.text)).toEqual(["in General"])
          expect((yield* history.lastN({ chatId: chat }, 10)).map((m) => m.text)).toEqual(["in General"])
          const inTopic = yield* history.lastN({ chatId: chat, threadId: topic }, 10)
          expect(inTopic).toEqual([
            { ...message(chat, u + 2, "user", "in the topic", 2), threadId: topic, speaker: "Ann" },
            { ...message(chat, u + 2, "assistant", "topic answer", 3), threadId: topic }
          ])
          expect(yield* history.replyFor(chat, id(u + 2))).toEqual(Option.some("topic answer"))
          expect(yield* history.clear({ chatId: chat, threadId: topic })).toBe(2)
          expect(yield* history.lastN({ chatId: chat, threadId: topic }, 10)).toEqual([])
          expect((yield* history.lastN({ chatId: chat, threadId: topic + 1 }, 10)).map((m) => m.text)).toEqual(["another topic"])
          expect((yield* history.lastN(chat, 10)).map((m) => m.text)).toEqual(["in General"])
        }))

      test("concurrent appends to one chat neither collide nor reorder", () =>
        Effect.gen(function*() {
          const history = yield* HistoryStore
          const chat = id(freshBase())
          const u = freshBase()
          const updates = Array.from({ length: 60 }, (_, i) => u + i)
          // Shuffled, all at once, each update's two messages plus a duplicate of the user one.
          const shuffled = [...updates].sort(() => Math.random() - 0.5)
          yield* Effect.forEach(
            shuffled.flatMap((n) => [
              message(chat, n, "assistant", `reply ${n - u}`),
              message(chat, n, "user", `text ${n - u}`),
              message(chat, n, "user", `duplicate ${n - u}`)
            ]),
            (m) => history.append(m),
            { concurrency: "unbounded", discard: true }
          )
          const all = yield* history.lastN(chat, 1000)
          expect(all).toHaveLength(120)
          expect(all.map((m) => `${m.updateId - u}:${m.role}`)).toEqual(
            updates.flatMap((n) => [`${n - u}:user`, `${n - u}:assistant`])
          )
          expect(all.filter((m) => m.role === "user").every((m) => m.text.startsWith("text ") || m.text.startsWith("duplicate "))).toBe(true)
        }))

      test("a conversation's summary is replaced only by one reaching further; per topic; clear removes it", () =>
        Effect.gen(function*() {
          const history = yield* HistoryStore
          const chat = id(freshBase())
          const topic = { chatId: chat, threadId: 9 }
          const u = freshBase()
          expect(yield* history.summary(chat)).toEqual(Option.none())
          expect(yield* history.saveSummary(chat, { text: `first ${nul}`, upTo: id(u + 2), at: 10 })).toBe(true)
          expect(yield* history.summary(chat)).toEqual(Option.some({ text: `first ${nul}`, upTo: u + 2, at: 10 }))
          // A fold run again, or one that lagged behind another: the summary never goes back.
          expect(yield* history.saveSummary(chat, { text: "same reach", upTo: id(u + 2), at: 11 })).toBe(false)
          expect(yield* history.saveSummary(chat, { text: "older", upTo: id(u + 1), at: 12 })).toBe(false)
          expect(yield* history.saveSummary(chat, { text: injection, upTo: id(u + 4), at: 13 })).toBe(true)
          expect(yield* history.summary({ chatId: chat })).toEqual(Option.some({ text: injection, upTo: u + 4, at: 13 }))
          // A forum topic has a summary of its own.
          expect(yield* history.summary(topic)).toEqual(Option.none())
          expect(yield* history.saveSummary(topic, { text: "in the topic", upTo: id(u + 1), at: 14 })).toBe(true)
          expect(yield* history.summary(topic)).toEqual(Option.some({ text: "in the topic", upTo: u + 1, at: 14 }))
          // clear takes the summary with the messages, of that conversation only.
          yield* history.append(message(chat, u + 5, "user", "kept until clear"))
          expect(yield* history.clear(chat)).toBe(1)
          expect(yield* history.summary(chat)).toEqual(Option.none())
          expect(yield* history.summary(topic)).toEqual(Option.some({ text: "in the topic", upTo: u + 1, at: 14 }))
          // After a clear the conversation starts again: a summary of any reach is taken.
          expect(yield* history.saveSummary(chat, { text: "anew", upTo: id(u + 1), at: 15 })).toBe(true)
          expect(yield* history.clear(topic)).toBe(0)
          expect(yield* history.summary(topic)).toEqual(Option.none())
          for (const wide of Object.values(wideIds)) {
            yield* history.clear(wide)
            expect(yield* history.saveSummary(wide, { text: hundredKb, upTo: id(Number.MAX_SAFE_INTEGER), at: 16 })).toBe(true)
            expect(yield* history.summary(wide)).toEqual(Option.some({ text: hundredKb, upTo: Number.MAX_SAFE_INTEGER, at: 16 }))
            yield* history.clear(wide)
          }
        }))

      test("64-bit chat and update ids, NUL characters, 100 KB messages and SQL metacharacters", () =>
        Effect.gen(function*() {
          const history = yield* HistoryStore
          for (const chat of Object.values(wideIds)) {
            yield* history.clear(chat)
            yield* history.append(message(chat, Number.MAX_SAFE_INTEGER - 1, "user", nul))
            yield* history.append(message(chat, Number.MAX_SAFE_INTEGER - 1, "assistant", hundredKb))
            yield* history.append(message(chat, Number.MAX_SAFE_INTEGER, "user", injection))
            const all = yield* history.lastN(chat, 10)
            expect(all.map((m) => [m.chatId, m.updateId, m.text])).toEqual([
              [chat, Number.MAX_SAFE_INTEGER - 1, nul],
              [chat, Number.MAX_SAFE_INTEGER - 1, hundredKb],
              [chat, Number.MAX_SAFE_INTEGER, injection]
            ])
            expect(yield* history.replyFor(chat, id(Number.MAX_SAFE_INTEGER - 1))).toEqual(Option.some(hundredKb))
            expect(yield* history.clear(chat)).toBe(3)
          }
        }))
    })

    describe("ConversationState", () => {
      test("put replaces a key's value, get reads it, remove says whether it was there", () =>
        Effect.gen(function*() {
          const state = yield* ConversationState
          const key = `business:conn-${freshBase()}`
          expect(yield* state.get(key)).toEqual(Option.none())
          yield* state.put(key, JSON.stringify({ enabled: true, note: "ü\u0000'; DROP TABLE x; --" }))
          yield* state.put(key, JSON.stringify({ enabled: false }))
          expect(yield* state.get(key)).toEqual(Option.some(JSON.stringify({ enabled: false })))
          expect(yield* state.get(`${key}-other`)).toEqual(Option.none())
          expect(yield* state.remove(key)).toBe(true)
          expect(yield* state.remove(key)).toBe(false)
          expect(yield* state.get(key)).toEqual(Option.none())
        }))
    })

    handoffContract(test)

    describe("Inbox", () => {
      const update = (updateId: number, chatId?: number) => ({
        updateId: id(updateId),
        chatId: chatId === undefined ? undefined : id(chatId),
        payload: JSON.stringify({ update_id: updateId, message: { text: "hi" } })
      })

      test("record says New once and Duplicate after, whatever the status", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const u = freshBase()
          expect(yield* inbox.record(update(u, 7))).toBe("New")
          expect(yield* inbox.record(update(u, 7))).toBe("Duplicate")
          yield* inbox.markDone(id(u))
          expect(yield* inbox.record(update(u, 7))).toBe("Duplicate")
          expect(Option.map(yield* inbox.entry(id(u)), (e) => e.status)).toEqual(Option.some("done"))
        }))

      test("concurrent records of one update_id: exactly one is New", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const u = freshBase()
          const results = yield* Effect.forEach(Array.from({ length: 20 }, () => update(u, 1)), (x) => inbox.record(x), {
            concurrency: "unbounded"
          })
          expect(results.filter((r) => r === "New")).toHaveLength(1)
        }))

      test("pending lists pending entries in update_id order; done and failed ones leave it", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const u = freshBase()
          const before = yield* inbox.pendingCount
          for (const n of [5, 2, 9, 1, 7]) yield* inbox.record(update(u + n, n % 2 === 0 ? 100 : 200))
          yield* inbox.record(update(u + 3))
          yield* inbox.markDone(id(u + 9))
          yield* inbox.markFailed(id(u + 5), "deadline exceeded")
          const mine = (yield* inbox.pending()).filter((e) => e.updateId >= u && e.updateId < u + 1_000_000)
          expect(mine.map((e) => e.updateId - u)).toEqual([1, 2, 3, 7])
          expect(mine[1]).toMatchObject({ chatId: 100, status: "pending", payload: update(u + 2).payload })
          expect(mine[2]?.chatId).toBeUndefined()
          expect(yield* inbox.pendingCount).toBe(before + 4)
          const failed = yield* inbox.entry(id(u + 5))
          expect(Option.map(failed, (e) => [e.status, e.error, typeof e.finishedAt])).toEqual(
            Option.some(["failed", "deadline exceeded", "number"])
          )
          expect(yield* inbox.entry(id(u + 999))).toEqual(Option.none())
        }))

      test("markDelivered keeps how many messages went out; pending and entry return it", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const u = freshBase()
          yield* inbox.record(update(u, 5))
          yield* inbox.record(update(u + 1, 5))
          expect(Option.map(yield* inbox.entry(id(u)), (e) => e.delivered)).toEqual(Option.some(0))
          yield* inbox.markDelivered(id(u), 1)
          yield* inbox.markDelivered(id(u), 3)
          const mine = (yield* inbox.pending()).filter((e) => e.updateId === u || e.updateId === u + 1)
          expect(mine.map((e) => e.delivered)).toEqual([3, 0])
          // It stays with the entry once finished, and an unknown update is no error.
          yield* inbox.markDone(id(u))
          expect(Option.map(yield* inbox.entry(id(u)), (e) => [e.status, e.delivered])).toEqual(Option.some(["done", 3]))
          yield* inbox.markDelivered(id(u + 999), 2)
          expect(yield* inbox.entry(id(u + 999))).toEqual(Option.none())
          // A count that is not a whole number from 0 is refused, nothing written.
          for (const bad of [-1, 1.5, 2 ** 32]) {
            const refused = yield* Effect.either(inbox.markDelivered(id(u + 1), bad))
            expect(Either.isLeft(refused) ? refused.left._tag : "written").toBe("StoreError")
          }
          expect(Option.map(yield* inbox.entry(id(u + 1)), (e) => e.delivered)).toEqual(Option.some(0))
        }))

      test("pending honours its limit", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const u = freshBase()
          for (let i = 0; i < 5; i++) yield* inbox.record(update(u + i))
          const total = (yield* inbox.pending()).length
          expect(total).toBeGreaterThanOrEqual(5)
          expect(yield* inbox.pending(2)).toHaveLength(2)
          expect(yield* inbox.pending(0)).toHaveLength(0)
        }))

      test("lastUpdateId is the largest update_id recorded", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const top = Number.MAX_SAFE_INTEGER - Math.floor(Math.random() * 1000)
          yield* inbox.record(update(top - 10))
          yield* inbox.record(update(top))
          yield* inbox.markDone(id(top))
          yield* inbox.record(update(top - 5))
          const last = yield* inbox.lastUpdateId
          expect(last).toBeGreaterThanOrEqual(top)
          expect(Number.isSafeInteger(last)).toBe(true)
        }))

      test("prune removes finished entries older than the retention, never below 24 hours, never pending ones", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const u = freshBase()
          yield* inbox.record(update(u + 1))
          yield* inbox.record(update(u + 2))
          yield* inbox.record(update(u + 3))
          yield* inbox.markDone(id(u + 1))
          yield* inbox.markFailed(id(u + 2), "boom")
          yield* TestClock.adjust(Duration.hours(23))
          // A retention of one hour is raised to 24 hours: nothing is old enough yet.
          yield* inbox.prune("1 hour")
          expect(Option.isSome(yield* inbox.entry(id(u + 1)))).toBe(true)
          yield* TestClock.adjust(Duration.hours(2))
          const removed = yield* inbox.prune("1 hour")
          expect(removed).toBeGreaterThanOrEqual(2)
          expect(yield* inbox.entry(id(u + 1))).toEqual(Option.none())
          expect(yield* inbox.entry(id(u + 2))).toEqual(Option.none())
          expect(Option.map(yield* inbox.entry(id(u + 3)), (e) => e.status)).toEqual(Option.some("pending"))
          // A pruned update_id is new again (Telegram stops redelivering long before 24 hours).
          expect(yield* inbox.record(update(u + 1))).toBe("New")
        }))

      test("payloads keep NUL characters, 100 KB and 64-bit ids exactly", () =>
        Effect.gen(function*() {
          const inbox = yield* Inbox
          const u = freshBase()
          const payload = JSON.stringify({ update_id: u, message: { text: hundredKb + nul + injection } })
          yield* inbox.record({ updateId: id(u), chatId: wideIds.supergroup, payload })
          yield* inbox.record({ updateId: id(u + 1), chatId: wideIds.maxSafe, payload: nul })
          yield* inbox.record({ updateId: id(u + 2), chatId: wideIds.above2pow32, payload: injection })
          const entries = (yield* inbox.pending()).filter((e) => e.updateId >= u && e.updateId < u + 3)
          expect(entries.map((e) => [e.updateId - u, e.chatId, e.payload])).toEqual([
            [0, wideIds.supergroup, payload],
            [1, wideIds.maxSafe, nul],
            [2, wideIds.above2pow32, injection]
          ])
        }))
    })
  })
}
