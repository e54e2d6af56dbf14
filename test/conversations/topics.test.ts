/**
 * Forum topics through the fake Bot API: a message in a topic is answered in that topic, the
 * General topic takes no thread id, and each topic has its own history, queue key and /clear.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { destinationOf } from "../../src/domain/Destination.ts"
import { decodeUpdate, type TelegramId } from "../../src/domain/Update.ts"
import { ScriptedModel } from "../../src/llm/ScriptedModel.ts"
import { chatKey } from "../../src/runtime/ChatQueue.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { turns } from "../../src/testing/index.ts"
import { conversationBot, deliver } from "../support/ConversationBot.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"

const fixtures = JSON.parse(readFileSync(new URL("../fixtures/groups.json", import.meta.url), "utf8")) as Record<string, unknown>
const update = (name: string) => fixtures[name]
const forum = -1001500000003 as TelegramId
const topic = 300

describe("forum topics", () => {
  it.effect("the conversation key is the chat and its topic; the General topic is the chat", () =>
    Effect.gen(function*() {
      expect(chatKey(yield* decodeUpdate(update("inTopic")))).toBe(`chat:${forum}:topic:${topic}`)
      expect(chatKey(yield* decodeUpdate(update("topicCreated")))).toBe(`chat:${forum}:topic:${topic}`)
      expect(chatKey(yield* decodeUpdate(update("inGeneral")))).toBe(`chat:${forum}`)
      // A reply thread in a group without topics is not a conversation of its own.
      const thread = yield* decodeUpdate(update("replyToBot"))
      const inThread = { ...thread, message: { ...thread.message!, message_thread_id: 205 } }
      expect(chatKey(inThread)).toBe("chat:-1001500000002")
      expect(destinationOf(inThread.message)).toEqual({ chatId: -1001500000002, replyToMessageId: 206 })
    }))

  it.scoped("answers in the topic (typing too), General without a thread id; history and /clear per topic", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const script = turns(
        { stage: "delivery", synthesize: "Delivery is 4.90 EUR." },
        { stage: "general", synthesize: "Yes, until 18:00." }
      )
      const context = yield* Layer.build(conversationBot(fake, { script }))
      yield* Effect.gen(function*() {
        yield* deliver(update("topicCreated"))
        yield* deliver(update("inTopic"))
        yield* deliver(update("inGeneral"))
        const sent = (yield* fake.calls("sendMessage")).map((c) => c.params)
        expect(sent).toEqual([
          {
            chat_id: forum,
            message_thread_id: topic,
            text: "Delivery is 4.90 EUR.",
            reply_parameters: { message_id: 301, allow_sending_without_reply: true }
          },
          { chat_id: forum, text: "Yes, until 18:00.", reply_parameters: { message_id: 302, allow_sending_without_reply: true } }
        ])

        // The General topic's question was asked without the topic's history.
        const synthesis = (yield* (yield* ScriptedModel).requests).filter((r) => r.purpose === "synthesize")
        expect(synthesis[1]!.messages.filter((m) => m.role === "user").map((m) => m.content)).toEqual([
          "Bob: @fake_bot are you open today?"
        ])

        const history = yield* HistoryStore
        expect((yield* history.lastN({ chatId: forum, threadId: topic }, 10)).map((m) => m.text)).toEqual([
          "@fake_bot how much is delivery?",
          "Delivery is 4.90 EUR."
        ])
        expect((yield* history.lastN(forum, 10)).map((m) => m.text)).toEqual(["@fake_bot are you open today?", "Yes, until 18:00."])

        yield* deliver(update("clearInTopic"))
        const cleared = (yield* fake.calls("sendMessage")).at(-1)!.params
        expect(cleared).toMatchObject({ chat_id: forum, message_thread_id: topic, text: expect.stringContaining("2 messages removed") })
        expect(yield* history.lastN({ chatId: forum, threadId: topic }, 10)).toEqual([])
        expect(yield* history.lastN(forum, 10)).toHaveLength(2)

        // A chat action for a topic message goes to the topic, without the reply.
        const message = (yield* decodeUpdate(update("inTopic"))).message!
        yield* (yield* TelegramApi).sendChatAction(destinationOf(message), "typing")
        expect((yield* fake.calls("sendChatAction")).at(-1)!.params).toEqual({ chat_id: forum, message_thread_id: topic, action: "typing" })
      }).pipe(Effect.provide(context))
    }))
})
