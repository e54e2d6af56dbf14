/**
 * The feedback store's contract: one suite every store's feedback passes (memory, SQLite,
 * PostgreSQL, YDB). Tests use ids of their own, so the suite also runs on a shared database.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import type { StoreError } from "../../src/domain/errors.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import type { Stores } from "../../src/runtime/BotLayer.ts"
import { type AnsweredMessage, FeedbackStore, type FeedbackKind, type Reaction } from "../../src/store/FeedbackStore.ts"

const id = (n: number) => n as TelegramId
const freshBase = () => 3_000_000_000 + Math.floor(Math.random() * 1_000_000) * 1_000

const jan31 = Date.UTC(2026, 0, 31, 23, 0)

const answer = (chat: number, message: number, over: Partial<AnsweredMessage> = {}): AnsweredMessage => ({
  chatId: id(chat),
  messageId: message,
  updateId: id(chat + message),
  userId: id(chat),
  question: "How much is delivery?",
  answer: "Standard delivery is 4.90 EUR.",
  at: jan31,
  ...over
})

const reaction = (chat: number, message: number, by: number, at: number, kind?: FeedbackKind, emoji = kind === "positive" ? "👍" : "👎"): Reaction => ({
  chatId: id(chat),
  messageId: message,
  reactedBy: id(by),
  reactedAt: at,
  feedback: kind === undefined ? Option.none() : Option.some({ kind, emoji })
})

export interface FeedbackContractOptions {
  readonly skip?: string | undefined
}

export const feedbackContract = (name: string, layer: Layer.Layer<Stores, StoreError>, options: FeedbackContractOptions = {}) => {
  const test = <A>(label: string, body: () => Effect.Effect<A, StoreError, Stores>) =>
    it.effect.skipIf(options.skip !== undefined)(label, () => Effect.provide(Effect.suspend(body), layer))

  describe(`feedback store contract: ${name}${options.skip === undefined ? "" : ` (skipped: ${options.skip})`}`, () => {
    test("a reaction on a known answer is kept with the question and the answer, and listed", () =>
      Effect.gen(function*() {
        const store = yield* FeedbackStore
        const chat = freshBase()
        const question = "Wie viel kostet\u0000 die Lieferung? — «доставка» 🚚"
        yield* store.recordAnswer(answer(chat, 10, { question }))
        const kept = yield* store.react(reaction(chat, 10, chat, jan31 + 5, "negative"))
        const expected = { ...answer(chat, 10, { question }), kind: "negative", emoji: "👎", reactedBy: id(chat), reactedAt: jan31 + 5 }
        expect(kept).toEqual(Option.some(expected))
        const listed = (yield* store.list({ since: jan31 })).filter((f) => f.chatId === id(chat))
        expect(listed).toEqual([expected])
      }))

    test("a reaction on a message that is not a known answer is not kept", () =>
      Effect.gen(function*() {
        const store = yield* FeedbackStore
        const chat = freshBase()
        yield* store.recordAnswer(answer(chat, 10))
        expect(yield* store.react(reaction(chat, 11, chat, jan31, "negative"))).toEqual(Option.none())
        expect(yield* store.react(reaction(chat + 1, 10, chat, jan31, "negative"))).toEqual(Option.none())
        expect((yield* store.list({})).filter((f) => f.chatId === id(chat) || f.chatId === id(chat + 1))).toEqual([])
      }))

    test("a user's latest reaction replaces the earlier one; taken away, nothing is left; other users' stay", () =>
      Effect.gen(function*() {
        const store = yield* FeedbackStore
        const chat = freshBase()
        yield* store.recordAnswer(answer(chat, 10))
        yield* store.react(reaction(chat, 10, chat, jan31, "negative"))
        yield* store.react(reaction(chat, 10, chat + 7, jan31 + 1, "negative", "💩"))
        yield* store.react(reaction(chat, 10, chat, jan31 + 2, "positive", "❤"))
        const mine = () => Effect.map(store.list({}), (all) => all.filter((f) => f.chatId === id(chat)).map((f) => [f.reactedBy, f.kind, f.emoji, f.reactedAt]))
        expect(yield* mine()).toEqual([[id(chat + 7), "negative", "💩", jan31 + 1], [id(chat), "positive", "❤", jan31 + 2]])
        expect(yield* store.react(reaction(chat, 10, chat, jan31 + 3))).toEqual(Option.none())
        expect(yield* mine()).toEqual([[id(chat + 7), "negative", "💩", jan31 + 1]])
      }))

    test("recording an answer again keeps it as it was", () =>
      Effect.gen(function*() {
        const store = yield* FeedbackStore
        const chat = freshBase()
        yield* store.recordAnswer(answer(chat, 10))
        yield* store.recordAnswer(answer(chat, 10))
        const kept = yield* store.react(reaction(chat, 10, chat, jan31, "positive"))
        expect(Option.map(kept, (f) => [f.question, f.answer])).toEqual(Option.some(["How much is delivery?", "Standard delivery is 4.90 EUR."]))
      }))

    test("the list is oldest reaction first, since a time, of one kind", () =>
      Effect.gen(function*() {
        const store = yield* FeedbackStore
        const chat = freshBase()
        const start = jan31 + 1000 * (chat % 100_000)
        for (const message of [1, 2, 3, 4]) yield* store.recordAnswer(answer(chat, message, { answer: `answer ${message}` }))
        yield* store.react(reaction(chat, 3, chat, start + 30, "negative"))
        yield* store.react(reaction(chat, 1, chat, start + 10, "negative"))
        yield* store.react(reaction(chat, 2, chat, start + 20, "positive"))
        yield* store.react(reaction(chat, 4, chat, start - 1, "negative"))
        const mine = (filter: Parameters<typeof store.list>[0]) =>
          Effect.map(store.list(filter), (all) => all.filter((f) => f.chatId === id(chat)).map((f) => f.answer))
        expect(yield* mine({})).toEqual(["answer 4", "answer 1", "answer 2", "answer 3"])
        expect(yield* mine({ since: start })).toEqual(["answer 1", "answer 2", "answer 3"])
        expect(yield* mine({ since: start, kind: "negative" })).toEqual(["answer 1", "answer 3"])
        expect(yield* mine({ kind: "positive" })).toEqual(["answer 2"])
      }))
  })
}
