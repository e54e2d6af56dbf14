/**
 * Streamed answers through the dispatcher and the pipeline: drafts at their cadence (under
 * `TestClock`), one final message, a crash mid-stream, and what a reply or a quote gives the
 * model.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Fiber, Option, TestClock } from "effect"
import { CurrentDelivery, CurrentUpdateId, makeDelivery } from "../../src/domain/CurrentUpdate.ts"
import { decodeUpdate, type TelegramId } from "../../src/domain/Update.ts"
import { DialogPipeline } from "../../src/dialog/DialogPipeline.ts"
import { Inbox, runUpdates, type Script, ScriptedModel, TelegramRecorder, testBot, textMessage } from "../../src/testing/index.ts"

const pieces = ["**Deli", "very** ", "costs ", "4.90 ", "EUR. ", "See ", "[the ", "terms]", "(https://example.com/terms)", "."]
const script: Script = {
  classify: ["delivery"],
  think: ["notes"],
  synthesize: [{ chunks: pieces, every: Duration.millis(100) }]
}

/**
 * The same answer after 1.5 s, streamed or whole: longer than `TELEGRAM_TYPING_DELAY` (1 s), so a
 * bot without drafts shows `typing`.
 */
const slowScript: Script = { ...script, synthesize: [{ delay: Duration.millis(1_500), then: { chunks: pieces, every: Duration.millis(100) } }] }

const draftsOf = (calls: ReadonlyArray<{ readonly method: string; readonly params: Readonly<Record<string, unknown>> }>) =>
  calls.filter((c) => c.method === "sendMessageDraft").map((c) => c.params)

/** Moves the test clock on in small steps, letting the fibers run between them. */
const advance = (millis: number, step = 50) =>
  Effect.gen(function*() {
    for (let t = 0; t < millis; t += step) yield* TestClock.adjust(`${step} millis`)
  })

describe("streamed answers in a private chat", () => {
  it.scoped("the placeholder draft, then at most one draft per interval, then one final message with entities", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      const run = yield* Effect.fork(runUpdates([textMessage({ userId: 601, text: "How much is delivery?" })]))
      yield* advance(2_000)
      yield* Fiber.join(run)
      const calls = yield* recorder.calls
      const drafts = draftsOf(calls)
      // The chunks come at 100…1000 ms: drafts at 0 (the empty draft: Telegram's "Thinking…"), 400 and
      // 800 ms, then the final message. Markdown not closed yet shows as it is until the rest comes.
      expect(drafts.map((d) => d["text"])).toEqual(["", "Delivery costs 4.90", "Delivery costs 4.90 EUR. See [the terms]"])
      expect(drafts.every((d) => d["chat_id"] === 601 && d["draft_id"] === drafts[0]!["draft_id"])).toBe(true)
      expect(drafts[1]!["entities"]).toEqual([{ type: "bold", offset: 0, length: 8 }])
      const finals = calls.filter((c) => c.method === "sendMessage")
      expect(finals).toHaveLength(1)
      expect(finals[0]!.params).toMatchObject({
        chat_id: 601,
        text: "Delivery costs 4.90 EUR. See the terms.",
        entities: [
          { type: "bold", offset: 0, length: 8 },
          { type: "text_link", offset: 29, length: 9, url: "https://example.com/terms" }
        ]
      })
      // No draft after the final message.
      const methods = calls.map((c) => c.method)
      expect(methods.indexOf("sendMessage")).toBeGreaterThan(methods.lastIndexOf("sendMessageDraft"))
      // The drafts show the bot at work: no typing indicator beside them.
      expect(methods).not.toContain("sendChatAction")
    }).pipe(Effect.provide(testBot({ script, stream: { replies: true, draftInterval: Duration.millis(400) } }))))

  it.scoped("a long think stage: the placeholder draft is sent again every 20 s, before Telegram lets it fade", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      const run = yield* Effect.fork(runUpdates([textMessage({ userId: 604, text: "How much is delivery?" })]))
      yield* advance(45_000, 500)
      yield* Fiber.join(run)
      const drafts = draftsOf(yield* recorder.calls).map((d) => d["text"])
      // At 0, ~20.4 and ~40.8 s; the answer came at 42 s.
      expect(drafts.filter((t) => t === "")).toHaveLength(3)
      expect((yield* recorder.sent).map((m) => m.text)).toEqual(["Noted."])
    }).pipe(Effect.provide(testBot({
      script: { classify: ["delivery"], think: [{ delay: Duration.seconds(42), then: "notes" }], synthesize: ["Noted."] },
      stream: { replies: true, draftInterval: Duration.millis(400) }
    }))))

  it.scoped("while a tool works the placeholder says which; then the answer", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      const run = yield* Effect.fork(runUpdates([textMessage({ userId: 606, text: "What time is it?" })]))
      yield* advance(4_000)
      yield* Fiber.join(run)
      const calls = yield* recorder.calls
      // The empty placeholder; the shop profile's text for the tool (`texts.toolsWorking`; a tool
      // without one is named) while it and the next think step run; the answer.
      const texts = draftsOf(calls).map((d) => String(d["text"]))
      expect(texts.slice(0, 2)).toEqual(["", "Checking the time…"])
      expect(texts.length).toBeGreaterThan(2)
      expect(texts.slice(2).every((t) => t.startsWith("It"))).toBe(true)
      expect((yield* recorder.sent).map((m) => m.text)).toEqual(["It is noon."])
      expect(calls.map((c) => c.method)).not.toContain("sendChatAction")
    }).pipe(Effect.provide(testBot({
      script: {
        classify: ["general"],
        think: [{ toolCalls: [{ name: "get_current_time", arguments: {} }] }, { delay: Duration.seconds(1), then: "notes" }],
        synthesize: [{ chunks: ["It ", "is ", "noon."], every: Duration.millis(300) }]
      },
      stream: { replies: true, draftInterval: Duration.millis(400) }
    }))))

  it.scoped("STREAM_REPLIES=false: no drafts, the answer as one formatted message", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      const run = yield* Effect.fork(runUpdates([textMessage({ userId: 602, text: "How much is delivery?" })]))
      yield* advance(4_000)
      yield* Fiber.join(run)
      const calls = yield* recorder.calls
      expect(draftsOf(calls)).toEqual([])
      expect(calls.filter((c) => c.method === "sendMessage").map((c) => c.params["text"])).toEqual([
        "Delivery costs 4.90 EUR. See the terms."
      ])
      // Without drafts, `typing` shows the bot at work once the answer has taken a second.
      expect(calls.filter((c) => c.method === "sendChatAction").map((c) => c.params["action"])).toContain("typing")
    }).pipe(Effect.provide(testBot({ script: slowScript, stream: { replies: false } }))))

  it.scoped("a group gets the final message only, unless STREAM_IN_GROUPS edits a first message", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      const run = yield* Effect.fork(runUpdates([
        textMessage({ userId: 603, chatId: -100603, text: "How much is delivery?" })
      ]))
      yield* advance(4_000)
      yield* Fiber.join(run)
      const calls = yield* recorder.calls
      expect(draftsOf(calls)).toEqual([])
      const sends = calls.filter((c) => c.method === "sendMessage")
      const edits = calls.filter((c) => c.method === "editMessageText")
      // A first message with the start of the answer, edited at most once a second, the last edit the answer.
      expect(sends).toHaveLength(1)
      expect(sends[0]!.params["text"]).toBe("**Deli")
      // In a group the answer replies to the message it answers.
      expect(sends[0]!.params["reply_parameters"]).toMatchObject({ allow_sending_without_reply: true })
      expect(edits.length).toBeGreaterThanOrEqual(1)
      expect(edits.length).toBeLessThanOrEqual(2)
      expect(edits.at(-1)!.params).toMatchObject({ chat_id: -100603, text: "Delivery costs 4.90 EUR. See the terms." })
      // Groups have no drafts: `typing` shows the bot at work once the answer has taken a second.
      expect(calls.filter((c) => c.method === "sendChatAction").map((c) => c.params["action"])).toContain("typing")
    }).pipe(Effect.provide(testBot({ script: slowScript, stream: { inGroups: true }, dialog: { groupMode: "all" } }))))
})

describe("a crash while an answer streams", () => {
  const updateId = 7_700_001 as TelegramId
  const update = textMessage({ userId: 604, updateId, text: "How much is delivery?" })

  /** Runs the update as the dispatcher does after a restart: with the count the inbox kept. */
  const runOnce = Effect.gen(function*() {
    const inbox = yield* Inbox
    const pipeline = yield* DialogPipeline
    const delivered = Option.match(yield* inbox.entry(updateId), { onNone: () => 0, onSome: (e) => e.delivered })
    const decoded = yield* decodeUpdate(update)
    return yield* pipeline.handle(decoded).pipe(
      Effect.locally(CurrentDelivery, Option.some(makeDelivery(delivered))),
      Effect.locally(CurrentUpdateId, Option.some(updateId))
    )
  })

  it.scoped("the re-run sends one final message; drafts were never counted; a third run sends nothing", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      const model = yield* ScriptedModel
      const inbox = yield* Inbox
      yield* inbox.record({ updateId, chatId: 604 as TelegramId, payload: JSON.stringify(update) })

      // First run: killed half-way through the stream, after some drafts.
      const first = yield* Effect.fork(runOnce)
      yield* advance(500)
      expect(draftsOf(yield* recorder.calls).length).toBeGreaterThanOrEqual(2)
      yield* Fiber.interrupt(first)
      expect((yield* recorder.calls).filter((c) => c.method === "sendMessage")).toEqual([])
      expect(Option.map(yield* inbox.entry(updateId), (e) => e.delivered)).toEqual(Option.some(0))

      // The re-run asks the model again and sends its one final message.
      yield* model.push("classify", "delivery")
      yield* model.push("think", "notes")
      yield* model.push("synthesize", { chunks: pieces, every: Duration.millis(100) })
      const second = yield* Effect.fork(runOnce)
      yield* advance(2_000)
      expect(yield* Fiber.join(second)).toMatchObject({ _tag: "Answered" })
      const finals = (yield* recorder.calls).filter((c) => c.method === "sendMessage")
      expect(finals.map((c) => c.params["text"])).toEqual(["Delivery costs 4.90 EUR. See the terms."])
      expect(Option.map(yield* inbox.entry(updateId), (e) => e.delivered)).toEqual(Option.some(1))

      // A run after the final message was recorded sends nothing more.
      const third = yield* Effect.fork(runOnce)
      yield* advance(500)
      expect(yield* Fiber.join(third)).toEqual({ _tag: "Replied", reason: "resent" })
      expect((yield* recorder.calls).filter((c) => c.method === "sendMessage")).toHaveLength(1)
    }).pipe(Effect.provide(testBot({ script, stream: { replies: true } }))))
})

describe("what the user answers reaches the model", () => {
  const base = textMessage({ userId: 605, text: "Is that still true?" })

  it.effect("a reply, a quote and a reply to another chat's message, each marked as quoted", () =>
    Effect.gen(function*() {
      const replied = {
        ...base,
        message: {
          ...base.message,
          reply_to_message: {
            message_id: 1,
            date: 1_764_299_000,
            chat: base.message.chat,
            from: { id: 1, is_bot: true, first_name: "Northwind" },
            text: "Delivery is free from 50 EUR."
          }
        }
      }
      const quotedPart = {
        ...replied,
        update_id: base.update_id + 1,
        message: { ...replied.message, quote: { text: "free from 50 EUR", position: 12, is_manual: true } }
      }
      const external = {
        ...base,
        update_id: base.update_id + 2,
        message: {
          ...base.message,
          external_reply: { origin: { type: "channel", date: 1_764_299_000, chat: { id: -1009, type: "channel", title: "Shop News" }, message_id: 5 } },
          quote: { text: "Sale ends Sunday", position: 0 }
        }
      }
      yield* runUpdates([replied, quotedPart, external])
      const prompts = (yield* (yield* ScriptedModel).requests)
        .filter((r) => r.purpose === "synthesize")
        .map((r) => r.messages.filter((m) => m.role === "user").at(-1)?.content)
      expect(prompts).toEqual([
        "[The user replies to this message from Northwind:]\n> Delivery is free from 50 EUR.\n[End of the quoted message]\n\nIs that still true?",
        "[The user quotes this part of a message from Northwind:]\n> free from 50 EUR\n[End of the quoted message]\n\nIs that still true?",
        "[The user quotes a message from Shop News in another chat:]\n> Sale ends Sunday\n[End of the quoted message]\n\nIs that still true?"
      ])
    }).pipe(
      Effect.provide(testBot({
        script: { classify: ["general", "general", "general"], think: ["n", "n", "n"], synthesize: ["Yes.", "Yes.", "Yes."] },
        stream: { replies: false }
      }))
    ))
})
