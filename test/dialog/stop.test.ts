/**
 * The Stop button of a draft (Bot API 10.3) over real HTTP: the fake Bot API, the live model
 * (the `openai` SDK) streaming from the fake endpoint, and the whole bot behind the dispatcher.
 * A `stopped_message_generation` update in the middle of a streamed answer stops its turn: the
 * model's connection is closed, no draft follows, the part shown is kept or not per
 * `STOP_KEEPS_PARTIAL`, and the next message is answered as usual.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"
import { textMessage } from "../../src/testing/index.ts"
import { conversationBot } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { type FakeOpenAi, makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"
import { answerDrafts, answerShown, longAnswer, stopUpdate, submitTo } from "../support/StopButton.ts"

/** A long answer streamed in 200 pieces, 30 ms apart (six seconds): it is stopped long before its end. */
const storyAnswer = longAnswer(200)

const botFor = (api: FakeBotApi, model: FakeOpenAi, stopKeepsPartial: boolean) =>
  conversationBot(api, {
    model: openAiLayerFor(model, { model: "main-model" }),
    stream: { draftInterval: Duration.millis(50), stopKeepsPartial, richMessages: "off" }
  })

const submit = (raw: unknown) => Effect.flatMap(Dispatcher, (dispatcher) => submitTo(dispatcher, raw))

/**
 * One user message whose answer streams, stopped once two drafts showed its text: what the
 * Bot API received, the drafts' id and what the model's endpoint saw.
 */
const stopMidStream = (api: FakeBotApi, model: FakeOpenAi, chatId: number) =>
  Effect.gen(function*() {
    yield* model.script("general", "notes", { chunks: storyAnswer, everyMs: 30 })
    yield* submit(textMessage({ userId: chatId, text: "Tell me everything." }))
    const drafts = yield* answerShown(api)
    const draftId = drafts[0]!.params["draft_id"]
    yield* submit(stopUpdate(9_000_000 + chatId, chatId, draftId))
    // The model's streamed request is aborted: its connection closed.
    yield* model.waitForAborted(1)
    yield* (yield* Dispatcher).awaitIdle
    return { draftId, calls: yield* api.calls() }
  })

describe("the Stop button of a draft", () => {
  it.scopedLive("stops the turn: the stream is closed, no draft follows, the part shown is sent marked as stopped", () =>
    Effect.gen(function*() {
      const api = yield* makeFakeBotApi()
      const model = yield* makeFakeOpenAi()
      yield* Effect.gen(function*() {
        const chatId = 7101
        const { calls, draftId } = yield* stopMidStream(api, model, chatId)
        const drafts = calls.filter((c) => c.method === "sendMessageDraft")
        // Every draft carries the Stop button and keeps its text when pressed.
        expect(drafts.every((d) => d.params["can_stop"] === true && d.params["keep_on_stop"] === true)).toBe(true)
        expect(drafts.every((d) => d.params["draft_id"] === draftId)).toBe(true)
        // One final message: the last draft's text, marked as stopped; no draft after it.
        const finals = calls.filter((c) => c.method === "sendMessage")
        expect(finals).toHaveLength(1)
        const lastDraft = String(answerDrafts(calls).at(-1)!.params["text"])
        const finalText = String(finals[0]!.params["text"])
        expect(finalText).toBe(`${lastDraft}\n\nStopped.`)
        expect(finals[0]!.params["entities"]).toEqual([{ type: "italic", offset: lastDraft.length + 2, length: 8 }])
        expect(calls.map((c) => c.method).lastIndexOf("sendMessageDraft")).toBeLessThan(calls.indexOf(finals[0]!))
        // Far from the whole answer: the rest was never written.
        expect(lastDraft.split(" ").length).toBeLessThan(storyAnswer.length)

        // The history keeps what the user saw, marked as stopped.
        const history = yield* (yield* HistoryStore).lastN(chatId as TelegramId, 10)
        expect(history.map((m) => m.role)).toEqual(["user", "assistant"])
        expect(history[1]!.text).toBe(`${lastDraft}\n\n_Stopped._`)
        // The tokens spent are counted: the stopped stream's estimated, beside the calls that answered.
        const totals = (yield* (yield* UsageLedger).totals(0)).filter((t) => t.userId === chatId)
        expect(totals.reduce((n, t) => n + t.completionTokens, 0)).toBeGreaterThan(0)
        expect(totals.reduce((n, t) => n + t.turns, 0)).toBeGreaterThan(0)
        // …under the model asked, the stopped call's estimate too.
        expect([...new Set(totals.map((t) => t.model))]).toEqual(["main-model"])

        // The inbox has both updates done: the message, and the stop that found its turn.
        const inbox = yield* Inbox
        const stopEntry = yield* inbox.entry((9_000_000 + chatId) as TelegramId)
        expect(Option.map(stopEntry, (e) => [e.status, e.error])).toEqual(Option.some(["done", "stopped the running turn"]))

        // A stop for the turn that ended is acknowledged and ignored.
        yield* submit(stopUpdate(9_100_000 + chatId, chatId, draftId))
        yield* (yield* Dispatcher).awaitIdle
        const late = yield* inbox.entry((9_100_000 + chatId) as TelegramId)
        expect(Option.map(late, (e) => [e.status, e.error])).toEqual(Option.some(["done", "no running turn to stop"]))

        // The next message is answered as usual.
        yield* model.script("general", "notes", { chunks: ["Here ", "you ", "go."], everyMs: 10 })
        yield* submit(textMessage({ userId: chatId, text: "Just the short version." }))
        yield* (yield* Dispatcher).awaitIdle
        expect(yield* api.sentTexts(chatId)).toEqual([finalText, "Here you go."])
      }).pipe(Effect.provide(botFor(api, model, true)))
    }))

  it.scopedLive("STOP_KEEPS_PARTIAL=false: the draft goes when stopped and nothing more is sent", () =>
    Effect.gen(function*() {
      const api = yield* makeFakeBotApi()
      const model = yield* makeFakeOpenAi()
      yield* Effect.gen(function*() {
        const chatId = 7102
        const { calls } = yield* stopMidStream(api, model, chatId)
        const drafts = calls.filter((c) => c.method === "sendMessageDraft")
        expect(drafts.every((d) => d.params["can_stop"] === true && d.params["keep_on_stop"] === false)).toBe(true)
        expect(calls.filter((c) => c.method === "sendMessage")).toEqual([])
        // The history still knows what was shown, and that it was stopped.
        const history = yield* (yield* HistoryStore).lastN(chatId as TelegramId, 10)
        expect(history.at(-1)!.text).toMatch(/^word0 .*\n\n_Stopped\._$/s)

        yield* model.script("general", "notes", { chunks: ["Sure."], everyMs: 10 })
        yield* submit(textMessage({ userId: chatId, text: "Again, shorter." }))
        yield* (yield* Dispatcher).awaitIdle
        expect(yield* api.sentTexts(chatId)).toEqual(["Sure."])
      }).pipe(Effect.provide(botFor(api, model, false)))
    }))
})
