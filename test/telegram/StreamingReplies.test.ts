/**
 * Streamed answers over real HTTP: the live model (the `openai` SDK) streaming SSE from the
 * fake OpenAI endpoint into drafts on the fake Bot API, and a Bot API that refuses drafts.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Logger } from "effect"
import { decodeUpdate } from "../../src/domain/Update.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { textMessage } from "../../src/testing/index.ts"
import { botOverFakes } from "../support/BotOverFakes.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"
import { makeFakeOpenAi } from "../support/FakeOpenAi.ts"

/** The whole bot on both fakes, over HTTP. */
const botOver = (telegram: Parameters<typeof botOverFakes>[0], model: { readonly url: string }) =>
  botOverFakes(telegram, model, { send: { backoffBase: Duration.millis(1) }, stream: { replies: true } })

/** Submits updates in order and waits until all are handled. */
const runUpdates = (updates: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    for (const raw of updates) yield* dispatcher.submit({ json: JSON.stringify(raw), update: yield* decodeUpdate(raw) })
    yield* dispatcher.awaitIdle
  })

describe("streamed answers over HTTP", () => {
  it.scopedLive("the live model's SSE chunks reach drafts, then one final message with entities", () =>
    Effect.gen(function*() {
      const telegram = yield* makeFakeBotApi()
      const model = yield* makeFakeOpenAi()
      yield* model.scriptFor("classify-model", "general")
      yield* model.scriptFor("main-model", "notes", { chunks: ["**Hello", "** there, ", "friend."], everyMs: 450 })
      yield* runUpdates([textMessage({ userId: 701, text: "hi" })]).pipe(Effect.provide(botOver(telegram, model)))
      const drafts = yield* telegram.calls("sendMessageDraft")
      expect(drafts[0]!.params).toMatchObject({ chat_id: 701, text: "" })
      expect(drafts.length).toBeGreaterThanOrEqual(2)
      expect(drafts.every((d) => typeof d.params["draft_id"] === "number" && d.params["draft_id"] !== 0)).toBe(true)
      const finals = yield* telegram.delivered("sendMessage")
      expect(finals.map((c) => c.params)).toEqual([
        { chat_id: 701, text: "Hello there, friend.", entities: [{ type: "bold", offset: 0, length: 5 }] }
      ])
      const synthesis = (yield* model.requests).at(-1)!
      expect(synthesis.body["stream"]).toBe(true)
    }))

  it.scopedLive("a Bot API that refuses drafts turns streaming off with one log line; every answer still goes out", () =>
    Effect.gen(function*() {
      const telegram = yield* makeFakeBotApi({ refuseDrafts: 404 })
      const model = yield* makeFakeOpenAi({ fallback: (r) => (r.model === "classify-model" ? "general" : "Fine, **thanks**.") })
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => lines.push(String(message)))
      yield* runUpdates([textMessage({ userId: 702, text: "hi" }), textMessage({ userId: 702, text: "and again" })]).pipe(
        Effect.provide(botOver(telegram, model)),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      expect(yield* telegram.calls("sendMessageDraft")).toHaveLength(1)
      expect(lines.filter((l) => l.includes("refused a draft"))).toHaveLength(1)
      expect((yield* telegram.delivered("sendMessage")).map((c) => c.params["text"])).toEqual(["Fine, thanks.", "Fine, thanks."])
    }))
})
