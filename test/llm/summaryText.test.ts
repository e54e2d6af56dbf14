/**
 * The extractive summary the offline model gives (and the scripted one when a test scripted no
 * summary), read from the summary request the compaction writes.
 */
import { describe, expect, it } from "@effect/vitest"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Effect, Layer, Option } from "effect"
import { summaryMessages } from "../../src/dialog/prompts.ts"
import type { HistoryMessage } from "../../src/domain/Dialog.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { extractiveSummary, extractiveSummaryChars } from "../../src/llm/summaryText.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"

const message = (updateId: number, role: "user" | "assistant", text: string, speaker?: string): HistoryMessage => ({
  chatId: 1 as TelegramId,
  updateId: updateId as TelegramId,
  role,
  text,
  at: 0,
  ...(speaker === undefined ? {} : { speaker })
})

describe("the extractive summary", () => {
  it("keeps the summary so far and the first sentence of each message folded in, one a line", () => {
    const request = summaryMessages(Option.some("User: wants a bike.\nAssistant: offered the red one."), [
      message(3, "user", "How long is delivery?\nI need it by Friday. Thanks!", "Ines"),
      message(3, "assistant", "Three days. It ships from Berlin.")
    ])
    expect(extractiveSummary(request)).toBe(
      "User: wants a bike.\nAssistant: offered the red one.\nInes: How long is delivery?\nAssistant: Three days."
    )
  })

  it("starts from nothing, cuts long sentences and drops the oldest lines past its size", () => {
    const first = extractiveSummary(summaryMessages(Option.none(), [message(1, "user", "x".repeat(500))]))
    expect(first).toBe(`User: ${"x".repeat(159)}…`)
    const many = Array.from({ length: 60 }, (_, i) => message(i + 2, "user", `Question ${i} ${"y".repeat(100)}`))
    const long = extractiveSummary(summaryMessages(Option.some(first), many))
    expect(long.length).toBeLessThanOrEqual(extractiveSummaryChars)
    expect(long).not.toContain("xxx")
    expect(long.split("\n").at(-1)).toContain("Question 59")
  })

  it.effect("is what the offline model answers a summary request with", () =>
    Effect.gen(function*() {
      const model = yield* LanguageModel
      const request = summaryMessages(Option.none(), [message(1, "user", "Hi! I'm Ines."), message(1, "assistant", "Hello Ines.")])
      const response = yield* model.complete({ purpose: "summary", messages: request })
      expect(response.text).toBe("User: Hi!\nAssistant: Hello Ines.")
      expect(response.usage.promptTokens).toBeGreaterThan(0)
    }).pipe(Effect.provide(Layer.provide(LanguageModelOffline, Layer.provide(BotProfileFile(defaultProfilePath), NodeContext.layer)))))
})
