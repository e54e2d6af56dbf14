/**
 * Flood protection: a per-user token bucket at intake. A user who sends faster than the bucket
 * allows has the excess dropped — each dropped update is settled in the inbox as done with its
 * reason — and is told so once per notice window, in the chat's order; other users are not
 * delayed by it.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, TestClock } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { decodeUpdate } from "../../src/domain/Update.ts"
import type { CompletionRequest } from "../../src/llm/LanguageModel.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { type ScriptedReply, TelegramRecorder, testBot, textMessage } from "../../src/testing/index.ts"

const tooFast = "You are sending messages too fast. Please wait a moment: messages sent meanwhile are not answered."

const lastUserText = (request: CompletionRequest) =>
  [...request.messages].reverse().find((m) => m.role === "user")?.content ?? ""

/** Every dialog takes one second of (test) time; the answer echoes the user's text. */
const script = (count: number) => ({
  classify: Array.from({ length: count }, (): ScriptedReply => ({ delay: Duration.seconds(1), then: "general" })),
  think: Array.from({ length: count }, (): ScriptedReply => "notes"),
  synthesize: Array.from({ length: count }, (): ScriptedReply => (request) => `re: ${lastUserText(request)}`)
})

const sentTo = (chatId: number) =>
  Effect.flatMap(TelegramRecorder, (r) => r.sent).pipe(
    Effect.map((sent) => sent.filter((m) => m.chatId === chatId).map((m) => m.text))
  )

const submitAll = (updates: ReadonlyArray<ReturnType<typeof textMessage>>) =>
  Effect.flatMap(Dispatcher, (dispatcher) =>
    Effect.forEach(updates, (u) =>
      Effect.flatMap(decodeUpdate(u), (update) => dispatcher.submit({ json: JSON.stringify(u), update })), { discard: true }))

const flood = { floodBurst: 5, floodRefill: Duration.seconds(1), floodNoticeInterval: Duration.minutes(1) }

describe("flood protection", () => {
  it.scoped("a user sending 50 messages at once gets the burst answered and one notice; others are not delayed", () =>
    Effect.gen(function*() {
      const dispatcher = yield* Dispatcher
      const inbox = yield* Inbox
      const burst = Array.from({ length: 50 }, (_, i) => textMessage({ userId: 11, text: `a${i}`, updateId: 61_000 + i }))
      const other = textMessage({ userId: 12, text: "b0", updateId: 62_000 })
      yield* submitAll([...burst, other])

      // One second later the other user's answer is out, as is the flooding user's first one.
      yield* TestClock.adjust("1 second")
      expect(yield* sentTo(12)).toEqual(["re: b0"])
      expect(yield* sentTo(11)).toEqual(["re: a0"])

      const idle = yield* Effect.fork(dispatcher.awaitIdle)
      yield* TestClock.adjust("10 seconds")
      yield* Fiber.join(idle)
      // The burst of five is answered in order, then the notice, once.
      expect(yield* sentTo(11)).toEqual(["re: a0", "re: a1", "re: a2", "re: a3", "re: a4", tooFast])

      // Nothing is lost silently: every dropped update is done, with its reason.
      expect(yield* inbox.pendingCount).toBe(0)
      const dropped = yield* Effect.forEach(burst.slice(5), (u) => inbox.entry(u.update_id as TelegramId))
      for (const entry of dropped) {
        expect(Option.getOrThrow(entry).status).toBe("done")
        expect(Option.getOrThrow(entry).error).toMatch(/flood protection/)
      }
      const answered = Option.getOrThrow(yield* inbox.entry(burst[0]!.update_id as TelegramId))
      expect(answered.error).toBeUndefined()
    }).pipe(Effect.provide(testBot({ script: script(60), dispatcher: flood }))))

  it.scoped("the bucket refills; a second flood in the same window gets no second notice, a later one does", () =>
    Effect.gen(function*() {
      const dispatcher = yield* Dispatcher
      const settle = Effect.gen(function*() {
        const idle = yield* Effect.fork(dispatcher.awaitIdle)
        yield* TestClock.adjust("30 seconds")
        yield* Fiber.join(idle)
      })
      let id = 63_000
      const messages = (n: number) => Array.from({ length: n }, () => textMessage({ userId: 13, text: `m${id}`, updateId: id++ }))

      yield* submitAll(messages(8)) // 5 answered, 3 dropped, notice
      yield* settle // 30 s later: the bucket is full again
      yield* submitAll(messages(8)) // 5 answered, 3 dropped, no notice (same window)
      yield* settle
      yield* TestClock.adjust("1 minute")
      yield* submitAll(messages(8)) // 5 answered, 3 dropped, a notice again
      yield* settle

      const texts = yield* sentTo(13)
      expect(texts.filter((t) => t === tooFast)).toHaveLength(2)
      expect(texts.filter((t) => t.startsWith("re: "))).toHaveLength(15)
      expect(texts.indexOf(tooFast)).toBe(5)
      expect(texts.lastIndexOf(tooFast)).toBe(texts.length - 1)
    }).pipe(Effect.provide(testBot({ script: script(30), dispatcher: flood }))))

  it.scoped("a steady user within the rate is never dropped", () =>
    Effect.gen(function*() {
      const dispatcher = yield* Dispatcher
      for (let i = 0; i < 20; i++) {
        yield* submitAll([textMessage({ userId: 14, text: `s${i}`, updateId: 64_000 + i })])
        yield* TestClock.adjust("1 second")
      }
      const idle = yield* Effect.fork(dispatcher.awaitIdle)
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(idle)
      expect(yield* sentTo(14)).toEqual(Array.from({ length: 20 }, (_, i) => `re: s${i}`))
    }).pipe(Effect.provide(testBot({ script: script(20), dispatcher: flood }))))
})
