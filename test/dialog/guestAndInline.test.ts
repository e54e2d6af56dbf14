/**
 * Guest mode and inline mode over the real Bot API client and a fake Bot API on real HTTP, with
 * updates shaped as Telegram sends them (test/fixtures/guest-and-inline.json): a guest message
 * answered within its window with `answerGuestQuery`; a slow one with the placeholder first and
 * the answer edited in; a burst of inline queries answered once, for the last; a sent inline
 * result's answer edited into its message; a guest turn kept apart from private chats. Time is
 * the TestClock: the window, the debounce and the slow model's delay pass when the test says.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Chunk, Duration, Effect, Fiber, Layer, Option, TestClock } from "effect"
import type { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { ScriptedModel } from "../../src/llm/ScriptedModel.ts"
import { TelegramRecorder, testBot, textMessage } from "../../src/testing/index.ts"
import { conversationBot, type ConversationBotOptions, deliver } from "../support/ConversationBot.ts"
import { eventually, type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

const fixtures = JSON.parse(readFileSync(new URL("../fixtures/guest-and-inline.json", import.meta.url), "utf8")) as {
  readonly guestInGroup: unknown
  readonly guestInPrivateChat: unknown
  readonly inlineQueries: ReadonlyArray<unknown>
  readonly emptyInlineQuery: unknown
  readonly chosenInlineResult: unknown
}

const answer = "We open at 9 on Saturdays."
const script = { classify: ["general", "general", "general"], think: ["notes", "notes", "notes"], synthesize: [answer] }

const withBot = <A, E>(options: ConversationBotOptions, body: (fake: FakeBotApi) => Effect.Effect<A, E, Dispatcher | ScriptedModel>) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const context = yield* Layer.build(conversationBot(fake, options))
    return yield* Effect.provide(body(fake), context)
  })

/** Waits (in real time: the work goes over HTTP) until sleeps ending at these TestClock times are pending. */
const sleepsPending = (...at: ReadonlyArray<Duration.DurationInput>) =>
  eventually(TestClock.sleeps(), (sleeps) => at.every((time) => Chunk.some(sleeps, (wake) => wake === Duration.toMillis(time))))

/** The message text of the article a guest answer or an inline answer carries. */
const articleText = (result: unknown) =>
  (result as { readonly input_message_content: { readonly message_text: string } }).input_message_content.message_text

describe("guest mode", () => {
  it.scoped("a guest message answered within its window: one answerGuestQuery with the answer, nothing else sent", () =>
    withBot({ script }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(fixtures.guestInGroup)
        const [guest, ...more] = yield* fake.calls("answerGuestQuery")
        expect(more).toEqual([])
        expect(guest?.params["guest_query_id"]).toBe("5183649127308475812")
        expect(guest?.params["result"]).toMatchObject({ type: "article", id: "answer", title: "Northwind Goods" })
        expect(articleText(guest?.params["result"])).toBe(answer)
        expect(yield* fake.calls("editMessageText")).toEqual([])
        expect(yield* fake.calls("sendMessage")).toEqual([])
      })))

  it.scoped("a slow answer: the placeholder once the window has passed, then the answer edited into it", () =>
    withBot(
      { script: { ...script, synthesize: [{ delay: "20 seconds", then: answer }] }, dialog: { guestReplyWindow: Duration.seconds(5) } },
      (fake) =>
        Effect.gen(function*() {
          const turn = yield* Effect.fork(deliver(fixtures.guestInGroup))
          // The window's timer and the model's delay are both waiting.
          yield* sleepsPending("5 seconds", "20 seconds")
          expect(yield* fake.calls("answerGuestQuery")).toEqual([])
          yield* TestClock.adjust("5 seconds")
          const [placeholder] = yield* fake.waitForCalls("answerGuestQuery", 1)
          expect(articleText(placeholder?.params["result"])).toBe("One moment, I'm looking into it…")
          expect(yield* fake.calls("editMessageText")).toEqual([])
          yield* TestClock.adjust("15 seconds")
          yield* Fiber.join(turn)
          const edits = yield* fake.calls("editMessageText")
          expect(edits.map((c) => c.params)).toEqual([{ inline_message_id: "guest-1", text: answer }])
          expect(yield* fake.calls("answerGuestQuery")).toHaveLength(1)
        })
    ))

  it.scoped("the test kit's recorder answers a guest query as Telegram does, so a slow answer is edited into the placeholder there too", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      const turn = yield* Effect.fork(deliver(fixtures.guestInGroup))
      yield* sleepsPending("5 seconds", "20 seconds")
      yield* TestClock.adjust("20 seconds")
      yield* Fiber.join(turn)
      const calls = (yield* recorder.calls).filter((c) => c.method === "answerGuestQuery" || c.method === "editMessageText")
      expect(calls.map((c) => c.method)).toEqual(["answerGuestQuery", "editMessageText"])
      expect(calls[1]?.params).toEqual({ inline_message_id: "guest-1", text: answer })
    }).pipe(Effect.provide(testBot({ script: { ...script, synthesize: [{ delay: "20 seconds", then: answer }] } }))))

  it.scoped("the caller's access applies: a caller the bot does not serve gets the notice as the guest answer, and no model call", () =>
    withBot({ script, usage: { allowedUsers: Option.some([1]) } }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(fixtures.guestInGroup)
        const answered = yield* fake.calls("answerGuestQuery")
        expect(answered.map((c) => articleText(c.params["result"]))).toEqual([
          "Sorry, this bot is private: it answers only the people it was set up for."
        ])
        expect(yield* (yield* ScriptedModel).requests).toEqual([])
      })))

  it.scoped("flood protection counts the caller's guest messages: beyond the burst they are dropped, unanswered", () =>
    withBot({ script, dispatcher: { floodBurst: 1, floodRefill: Duration.hours(1) } }, (fake) =>
      Effect.gen(function*() {
        const first = fixtures.guestInGroup as { readonly update_id: number; readonly guest_message: Record<string, unknown> }
        const again = { update_id: first.update_id + 1, guest_message: { ...first.guest_message, message_id: 5121, guest_query_id: "5183649127308475813" } }
        yield* deliver(first, again)
        expect((yield* fake.calls("answerGuestQuery")).map((c) => c.params["guest_query_id"])).toEqual(["5183649127308475812"])
      })))

  it.scoped("a guest turn is the caller's own conversation: neither the caller's nor the chat's private history mixes with it", () =>
    withBot({ script: { ...script, synthesize: ["Noted.", "Noted too.", "Yes, we deliver to Riga.", "The lamp ships Monday."] } }, () =>
      Effect.gen(function*() {
        const model = yield* ScriptedModel
        // The caller's private chat, and the private chat of Boris, whose id is the guest chat's.
        yield* deliver(textMessage({ userId: 7001, text: "My name is Ann" }))
        yield* deliver(textMessage({ userId: 7002, text: "I ordered the brass lamp" }))
        yield* deliver(fixtures.guestInPrivateChat)
        yield* deliver(textMessage({ userId: 7002, text: "When does my lamp ship?" }))
        const synthesized = (yield* model.requests).filter((r) => r.purpose === "synthesize").map((r) => JSON.stringify(r.messages))
        expect(synthesized).toHaveLength(4)
        const [, , guestTurn = "", borisAgain = ""] = synthesized
        expect(guestTurn).toContain("do you deliver to Riga?")
        expect(guestTurn).not.toContain("My name is Ann")
        expect(guestTurn).not.toContain("brass lamp")
        expect(borisAgain).toContain("I ordered the brass lamp")
        expect(borisAgain).not.toContain("Riga")
      })))
})

describe("inline mode", () => {
  it.scoped("a burst of inline queries is answered once, for the last one, with an article that can be edited later", () =>
    withBot({ script }, (fake) =>
      Effect.gen(function*() {
        const burst = yield* Effect.fork(deliver(...fixtures.inlineQueries))
        // All three wait out the debounce (600 ms): the newest is known to the older ones.
        yield* eventually(TestClock.sleeps(), (sleeps) => Chunk.filter(sleeps, (wake) => wake === 600).length === 3)
        yield* TestClock.adjust("600 millis")
        yield* Fiber.join(burst)
        const answered = yield* fake.calls("answerInlineQuery")
        expect(answered.map((c) => c.params["inline_query_id"])).toEqual(["3105742918364501503"])
        expect(answered[0]?.params).toMatchObject({
          cache_time: 30,
          is_personal: true,
          results: [{
            type: "article",
            id: "ask",
            title: "Ask Northwind Goods: when do you open?",
            input_message_content: { message_text: "❓ when do you open?\n\nAsking Northwind Goods…" },
            reply_markup: { inline_keyboard: [[{ text: "Ask another question", switch_inline_query_current_chat: "" }]] }
          }]
        })
      })))

  it.scoped("an empty inline query gets no results, only a button to the private chat in the user's language", () =>
    withBot({ script }, (fake) =>
      Effect.gen(function*() {
        const query = yield* Effect.fork(deliver(fixtures.emptyInlineQuery))
        yield* sleepsPending("600 millis")
        yield* TestClock.adjust("600 millis")
        yield* Fiber.join(query)
        const [answered] = yield* fake.calls("answerInlineQuery")
        expect(answered?.params).toMatchObject({
          inline_query_id: "3105742918364501510",
          results: [],
          button: { text: "Напишите вопрос после моего имени или откройте чат со мной", start_parameter: "inline" }
        })
      })))

  it.scoped("a sent inline result starts the turn, and its answer is edited into the sent message", () =>
    withBot({ script }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(fixtures.chosenInlineResult)
        const edits = yield* fake.calls("editMessageText")
        expect(edits.map((c) => c.params)).toEqual([{ inline_message_id: "AgAAAKIdAQBZS0UtdkN9Wq3eFbI", text: answer }])
        expect(yield* fake.calls("sendMessage")).toEqual([])
        // The same update delivered again (a webhook retry) is not answered twice.
        yield* deliver(fixtures.chosenInlineResult)
        expect(yield* fake.calls("editMessageText")).toHaveLength(1)
      })))

  it.scoped("a sent inline result whose turn outlives the update's deadline gets the apology in the sent message", () =>
    withBot(
      { script: { ...script, synthesize: [{ delay: "1 hour", then: answer }] }, dispatcher: { updateDeadline: Duration.seconds(60) } },
      (fake) =>
        Effect.gen(function*() {
          const turn = yield* Effect.fork(deliver(fixtures.chosenInlineResult))
          yield* sleepsPending("60 seconds", "1 hour")
          yield* TestClock.adjust("60 seconds")
          yield* Fiber.join(turn)
          const edits = yield* fake.calls("editMessageText")
          expect(edits.map((c) => c.params)).toEqual([{
            inline_message_id: "AgAAAKIdAQBZS0UtdkN9Wq3eFbI",
            text: "Sorry, something went wrong on our side and I can't answer right now. Please try again in a minute."
          }])
        })
    ))
})
