/**
 * The testing kit with a handoff chat: `testBot({ handoff })` opens topics on the recorder (a
 * topic's thread id is a message id, as Telegram gives it), so a team can test its handoffs
 * without a Bot API.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { Handoff } from "../../src/handoff/Handoff.ts"
import { TelegramRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { modelRequests, runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"

const operators = -1001600000009

describe("testBot with HANDOFF_CHAT_ID", () => {
  it.effect("/human opens a topic on the recorder; the customer's next message is copied into it", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 42, firstName: "Kim", text: "/human" })])
      expect(textsTo(sent, 42)).toEqual(["I've passed our conversation to a colleague: they will answer you here shortly."])
      const record = yield* (yield* Handoff).records.get({ chatId: 42 as TelegramId })
      expect(Option.map(record, (r) => [r.handoffChatId, r.summarySent])).toEqual(Option.some([operators, true]))
      const topicId = Option.match(record, { onNone: () => 0, onSome: (r) => r.topicId })
      expect(topicId).toBeGreaterThan(0)
      expect(sent.filter((m) => m.chatId === operators).map((m) => m.threadId)).toEqual([topicId])

      yield* runUpdates([textMessage({ userId: 42, firstName: "Kim", text: "hello?" })])
      const copies = (yield* (yield* TelegramRecorder).calls).filter((c) => c.method === "copyMessage")
      expect(copies.map((c) => [c.params["chat_id"], c.params["message_thread_id"], c.params["from_chat_id"]])).toEqual([
        [operators, topicId, 42]
      ])
      expect(yield* modelRequests()).toEqual([])
    }).pipe(Effect.provide(testBot({ handoff: { handoffChatId: Option.some(operators) } }))))
})
