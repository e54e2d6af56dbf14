/**
 * `/usage` is answered from the ledger, never by the model; in a group only the asker sees it
 * (an ephemeral message; where the Bot API server does not know those: usageEphemeral.test.ts).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { modelRequests, runUpdates, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import { TelegramRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { UsageLedger } from "../../src/usage/UsageLedger.ts"

const script = { classify: ["delivery"], think: ["notes"], synthesize: ["Standard delivery is 4.90 EUR."] }

describe("/usage", () => {
  it.effect("in a private chat: today, this month, the free allowance and when it renews, tokens bought — no model call", () =>
    Effect.gen(function*() {
      yield* TestClock.setTime(Date.UTC(2026, 2, 10, 15))
      yield* runUpdates([textMessage({ userId: 7, text: "How much is delivery?" })])
      yield* (yield* UsageLedger).credit({ id: "c1", userId: 7 as TelegramId, kind: "stars", tokens: 100_000, stars: 50, at: 0 })
      const calls = (yield* modelRequests()).length
      const sent = yield* runUpdates([textMessage({ userId: 7, text: "/usage" })])
      expect(textsTo(sent, 7)).toEqual([[
        "Your usage",
        "Today: 45 tokens",
        "This month: 45 tokens",
        "Free tokens left: 955 (renews on 2026-03-11 00:00 UTC)",
        "Bought: 100,000 tokens, 100,000 left"
      ].join("\n")])
      expect((yield* modelRequests()).length).toBe(calls)
    }).pipe(Effect.provide(testBot({ script, usage: { tokensPerDay: 1000 } }))))

  it.effect("in a group: one ephemeral message in the group that only the asker sees, nothing else", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 7, chatId: -1001234567890, text: "/usage" })])
      const calls = yield* Effect.flatMap(TelegramRecorder, (recorder) => recorder.calls)
      expect(calls.filter((c) => c.method === "sendMessage").map((c) => c.params)).toEqual([{
        chat_id: -1001234567890,
        text: ["Your usage", "Today: 0 tokens", "This month: 0 tokens", "Free tokens: no limit", "Bought: 0 tokens, 0 left"].join("\n"),
        ephemeral_message_parameters: { receiver_user_id: 7 }
      }])
      expect(yield* modelRequests()).toEqual([])
    }).pipe(Effect.provide(testBot({ script: {} }))))
})
