/**
 * Reactions over the real Bot API client and a fake Bot API on real HTTP: `REACT_ON_RECEIPT`
 * on the user's message when its turn starts, replaced by `REACT_ON_ANSWER` once the answer is
 * out (or taken away without it); none of it without the settings; a refused reaction does not
 * cost the answer.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import type { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { textMessage } from "../../src/testing/index.ts"
import { conversationBot, type ConversationBotOptions, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

const script = { classify: ["general"], think: ["notes"], synthesize: ["We open at 9."] }

const withBot = <A, E>(options: ConversationBotOptions, body: (fake: FakeBotApi) => Effect.Effect<A, E, Dispatcher>) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const context = yield* Layer.build(conversationBot(fake, options))
    return yield* Effect.provide(body(fake), context)
  })

/** The Bot API calls that change what the user sees, in order: method, and the reaction or the text. */
const visible = (fake: FakeBotApi) =>
  Effect.map(fake.calls(), (calls) =>
    calls.filter((c) => c.method === "setMessageReaction" || c.method === "sendMessage").map((c) =>
      c.method === "sendMessage" ? `text ${String(c.params["text"])}` : `reaction ${JSON.stringify(c.params["reaction"])} on ${String(c.params["message_id"])}`
    ))

describe("reactions on the user's message", () => {
  it.scoped("the receipt reaction when the turn starts, replaced by the answer's once the answer is out", () =>
    withBot({ script, dialog: { reactOnReceipt: Option.some("👀"), reactOnAnswer: Option.some("👌") } }, (fake) =>
      Effect.gen(function*() {
        const question = textMessage({ userId: 51, text: "When do you open?" })
        yield* deliver(question)
        const id = question.message.message_id
        expect(yield* visible(fake)).toEqual([
          `reaction [{"type":"emoji","emoji":"👀"}] on ${id}`,
          "text We open at 9.",
          `reaction [{"type":"emoji","emoji":"👌"}] on ${id}`
        ])
        expect((yield* fake.calls("setMessageReaction")).map((c) => c.params["chat_id"])).toEqual([51, 51])
      })))

  it.scoped("without REACT_ON_ANSWER the receipt reaction is taken away; without either, no reaction", () =>
    Effect.gen(function*() {
      const question = textMessage({ userId: 52, text: "When do you open?" })
      yield* withBot({ script, dialog: { reactOnReceipt: Option.some("👀") } }, (fake) =>
        Effect.gen(function*() {
          yield* deliver(question)
          expect(yield* visible(fake)).toEqual([
            `reaction [{"type":"emoji","emoji":"👀"}] on ${question.message.message_id}`,
            "text We open at 9.",
            `reaction [] on ${question.message.message_id}`
          ])
        }))
      yield* withBot({ script }, (fake) =>
        Effect.gen(function*() {
          yield* deliver(textMessage({ userId: 53, text: "When do you open?" }))
          expect(yield* visible(fake)).toEqual(["text We open at 9."])
        }))
    }))

  it.scoped("a reaction Telegram refuses does not cost the answer", () =>
    withBot({ script, dialog: { reactOnReceipt: Option.some("🦄"), reactOnAnswer: Option.some("👌") } }, (fake) =>
      Effect.gen(function*() {
        yield* fake.script("setMessageReaction", { error: 400, description: "Bad Request: REACTION_INVALID" })
        yield* deliver(textMessage({ userId: 54, text: "When do you open?" }))
        expect(yield* fake.sentTexts(54)).toEqual(["We open at 9."])
        expect(yield* fake.calls("setMessageReaction")).toHaveLength(2)
      })))
})
