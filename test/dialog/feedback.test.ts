/**
 * Feedback on answers over the real Bot API client and a fake Bot API on real HTTP: a 👎 on the
 * bot's answer (a `message_reaction` update shaped as Telegram sends it) is kept with the
 * question and the answer and counted in `bot_feedback_total{kind}`; a reaction on another
 * message, or taken away, is not feedback. The export is a file `replay --expect` reads as
 * both the questions and the expected answers.
 */
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Metric, Option } from "effect"
import { runReplayCommand } from "../../src/cli/replay.ts"
import { feedbackReceived, withTags } from "../../src/observability/Metrics.ts"
import { exportFeedback } from "../../src/replay/FeedbackExport.ts"
import type { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { FeedbackStore } from "../../src/store/FeedbackStore.ts"
import { textMessage } from "../../src/testing/index.ts"
import { conversationBot, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

const user = { id: 61, is_bot: false, first_name: "Ann", language_code: "en" }
const answerId = 9001

/** A `message_reaction` update as Telegram sends it: the user's reactions on a message, before and after. */
const reaction = (updateId: number, messageId: number, before: ReadonlyArray<string>, after: ReadonlyArray<string>) => ({
  update_id: updateId,
  message_reaction: {
    chat: { id: user.id, first_name: user.first_name, type: "private" },
    message_id: messageId,
    user,
    date: 1_764_300_100,
    old_reaction: before.map((emoji) => ({ type: "emoji", emoji })),
    new_reaction: after.map((emoji) => ({ type: "emoji", emoji }))
  }
})

const negativeCount = Effect.map(Metric.value(withTags(feedbackReceived, { kind: "negative" })), (state) => state.count)

const withBot = <A, E, R>(body: (fake: FakeBotApi) => Effect.Effect<A, E, R | Dispatcher | FeedbackStore>) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const context = yield* Layer.build(conversationBot(fake, {
      script: { classify: ["general"], think: ["notes"], synthesize: ["We open at **9**, Monday to Saturday."] }
    }))
    return yield* Effect.provide(body(fake), context)
  })

describe("feedback on answers", () => {
  it.scoped("a 👎 on an answer is kept with its question and counted; the export replays with --expect", () =>
    withBot((fake) =>
      Effect.gen(function*() {
        const store = yield* FeedbackStore
        const countedBefore = yield* negativeCount
        yield* fake.script("sendMessage", {
          result: { message_id: answerId, date: 1_764_300_050, chat: { id: user.id, type: "private" }, text: "We open at 9, Monday to Saturday." }
        })
        const question = textMessage({ userId: user.id, text: "When do you open?", updateId: 610_001 })
        yield* deliver(question)
        expect(yield* fake.sentTexts(user.id)).toEqual(["We open at 9, Monday to Saturday."])

        // A reaction on the user's own message, and a 👎 on the answer.
        yield* deliver(reaction(610_002, question.message.message_id, [], ["👎"]), reaction(610_003, answerId, [], ["👎"]))
        const kept = yield* store.list({})
        expect(kept).toEqual([expect.objectContaining({
          chatId: user.id,
          messageId: answerId,
          updateId: 610_001,
          question: "When do you open?",
          answer: "We open at 9, Monday to Saturday.",
          kind: "negative",
          emoji: "👎",
          reactedBy: user.id,
          reactedAt: 1_764_300_100_000
        })])
        expect((yield* negativeCount) - countedBefore).toBe(1)
        expect(yield* store.list({ kind: "positive" })).toEqual([])
        expect(yield* store.list({ since: 1_764_300_100_001 })).toEqual([])

        // The regression set: the question as an update, the answer as the expected reply.
        const fs = yield* FileSystem.FileSystem
        const path = yield* Path.Path
        const out = path.join(yield* fs.makeTempDirectoryScoped(), "negative.jsonl")
        expect(yield* exportFeedback({ kind: "negative", out })).toBe(1)
        const line = JSON.parse((yield* fs.readFileString(out)).trim()) as Record<string, unknown>
        expect(line).toMatchObject({ update_id: 610_001, chat_id: user.id, text: "We open at 9, Monday to Saturday.", message: { text: "When do you open?" } })

        const replay = (expectMode: "exact" | "shape") =>
          runReplayCommand({ file: out, out: Option.none(), concurrency: Option.none(), expect: Option.some(out), expectMode, clock: Option.none() })
        // The offline model answers the question (shape), but not with the answer users disliked (exact).
        yield* replay("shape")
        const mismatch = yield* Effect.flip(replay("exact"))
        expect(mismatch._tag).toBe("ReplayMismatch")
        expect(mismatch._tag === "ReplayMismatch" ? mismatch.report : "").toContain("We open at 9, Monday to Saturday.")

        // The reaction taken away: no feedback left.
        yield* deliver(reaction(610_004, answerId, ["👎"], []))
        expect(yield* store.list({})).toEqual([])
      })).pipe(Effect.provide(NodeContext.layer)))
})
