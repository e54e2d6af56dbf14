import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Exit, Fiber, Layer, Option, Scope, TestClock } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import type { CompletionRequest } from "../../src/llm/LanguageModel.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { decodeUpdate } from "../../src/domain/Update.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { runUpdates, type ScriptedReply, TelegramRecorder, testBot, textMessage } from "../../src/testing/index.ts"

const apology = "Sorry, something went wrong on our side and I can't answer right now. Please try again in a minute."

const lastUserText = (request: CompletionRequest) =>
  [...request.messages].reverse().find((m) => m.role === "user")?.content ?? ""

/** Classification takes `seconds` of (test) time; the reply echoes the user's text. */
const slowScript = (count: number, seconds: number) => ({
  classify: Array.from({ length: count }, (): ScriptedReply => ({ delay: Duration.seconds(seconds), then: "general" })),
  think: Array.from({ length: count }, (): ScriptedReply => "notes"),
  synthesize: Array.from({ length: count }, (): ScriptedReply => (request) => `re: ${lastUserText(request)}`)
})

const sentTexts = Effect.flatMap(TelegramRecorder, (r) => r.sent).pipe(Effect.map((s) => s.map((m) => m.text)))

describe("Dispatcher", () => {
  it.scoped("keeps one chat in order and runs chats in parallel", () =>
    Effect.gen(function*() {
      const run = yield* Effect.fork(runUpdates([
        textMessage({ userId: 1, text: "a1" }),
        textMessage({ userId: 1, text: "a2" }),
        textMessage({ userId: 2, text: "b1" })
      ]))
      yield* TestClock.adjust("1 second")
      expect([...(yield* sentTexts)].sort()).toEqual(["re: a1", "re: b1"])
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(run)
      expect(yield* sentTexts).toHaveLength(3)
      expect((yield* sentTexts).at(-1)).toBe("re: a2")
    }).pipe(Effect.provide(testBot({ script: slowScript(3, 1) }))))

  it.scoped("never runs more dialogs than the global limit", () =>
    Effect.gen(function*() {
      const run = yield* Effect.fork(runUpdates([
        textMessage({ userId: 1, text: "a" }),
        textMessage({ userId: 2, text: "b" }),
        textMessage({ userId: 3, text: "c" })
      ]))
      yield* TestClock.adjust("1 second")
      expect(yield* sentTexts).toHaveLength(1)
      yield* TestClock.adjust("1 second")
      expect(yield* sentTexts).toHaveLength(2)
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(run)
      expect([...(yield* sentTexts)].sort()).toEqual(["re: a", "re: b", "re: c"])
    }).pipe(Effect.provide(testBot({ script: slowScript(3, 1), dispatcher: { maxConcurrentDialogs: 1 } }))))

  it.scoped("sends the apology when an update passes its deadline", () =>
    Effect.gen(function*() {
      const update = textMessage({ userId: 5, text: "slow" })
      const run = yield* Effect.fork(runUpdates([update]))
      yield* TestClock.adjust("5 seconds")
      yield* Fiber.join(run)
      expect(yield* sentTexts).toEqual([apology])
      const inbox = yield* Inbox
      expect(yield* inbox.pendingCount).toBe(0)
    }).pipe(Effect.provide(testBot({ script: slowScript(1, 60), dispatcher: { updateDeadline: Duration.seconds(5) } }))))

  it.effect("answers a duplicate update_id once", () =>
    Effect.gen(function*() {
      const update = textMessage({ userId: 6, text: "hi", updateId: 777 })
      const sent = yield* runUpdates([update, update])
      expect(sent.map((m) => m.text)).toEqual(["re: hi"])
      expect(Option.getOrNull(sent[0]!.updateId)).toBe(777)
      const dispatcher = yield* Dispatcher
      const again = yield* dispatcher.submit({ json: JSON.stringify(update), update: yield* decodeUpdate(update) })
      expect(again).toBe("Duplicate")
    }).pipe(Effect.provide(testBot({ script: slowScript(1, 0) }))))

  it.scoped("shutdown drains dialogs in flight, then refuses new updates", () =>
    Effect.gen(function*() {
      const dispatcher = yield* Dispatcher
      const first = textMessage({ userId: 7, text: "in flight" })
      yield* dispatcher.submit({ json: JSON.stringify(first), update: yield* decodeUpdate(first) })
      const shutdown = yield* Effect.fork(dispatcher.shutdown)
      yield* TestClock.adjust("3 seconds")
      yield* Fiber.join(shutdown)
      expect(yield* sentTexts).toEqual(["re: in flight"])
      const late = textMessage({ userId: 7, text: "late" })
      const refused = yield* Effect.flip(dispatcher.submit({ json: JSON.stringify(late), update: yield* decodeUpdate(late) }))
      expect(refused._tag).toBe("IntakeClosed")
    }).pipe(Effect.provide(testBot({ script: slowScript(1, 3) }))))

  it.scoped("shutdown interrupts what outlives its deadline and leaves it pending", () =>
    Effect.gen(function*() {
      const dispatcher = yield* Dispatcher
      const inbox = yield* Inbox
      const update = textMessage({ userId: 8, text: "too slow", updateId: 4242 })
      yield* dispatcher.submit({ json: JSON.stringify(update), update: yield* decodeUpdate(update) })
      const shutdown = yield* Effect.fork(dispatcher.shutdown)
      yield* TestClock.adjust("500 millis")
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(shutdown)
      expect(yield* sentTexts).toEqual([])
      const pending = yield* inbox.pending()
      expect(pending.map((e) => e.updateId)).toEqual([4242 as TelegramId])
    }).pipe(
      Effect.provide(testBot({ script: slowScript(1, 30), dispatcher: { shutdownDeadline: Duration.seconds(1) } }))
    ))

  it.effect("closing the dispatcher's scope keeps the shutdown deadline too", () =>
    Effect.gen(function*() {
      const scope = yield* Scope.make()
      const context = yield* Layer.buildWithScope(
        testBot({ script: slowScript(1, 600), dispatcher: { shutdownDeadline: Duration.seconds(2) } }),
        scope
      )
      const dispatcher = Context.get(context, Dispatcher)
      const update = textMessage({ userId: 9, text: "stuck" })
      yield* dispatcher.submit({ json: JSON.stringify(update), update: yield* decodeUpdate(update) })
      const closing = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      expect(closing.unsafePoll()).toBeNull()
      yield* TestClock.adjust("2 seconds")
      yield* Fiber.join(closing)
    }))
})

