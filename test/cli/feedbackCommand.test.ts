/**
 * `feedback export`: the command line run in process against an SQLite file holding feedback
 * (`STORE=sqlite`), its file replayed with `replay --expect`: each question is sent through the
 * bot again and its answer compared with the one users reacted to.
 */
import { Command } from "@effect/cli"
import { FileSystem, Path } from "@effect/platform"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Option } from "effect"
import { feedbackCommand } from "../../src/cli/feedbackCommand.ts"
import { runReplayCommand } from "../../src/cli/replay.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { FeedbackStore, type FeedbackKind } from "../../src/store/FeedbackStore.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"

const id = (n: number) => n as TelegramId
const march = (day: number) => Date.UTC(2026, 2, day, 12)

/** An answer of the bot in a private chat and one reaction of its user on it. */
const answered = (user: number, updateId: number, question: string, answer: string, kind: FeedbackKind, reactedAt: number) =>
  Effect.gen(function*() {
    const store = yield* FeedbackStore
    yield* store.recordAnswer({ chatId: id(user), messageId: updateId, updateId: id(updateId), userId: id(user), question, answer, at: reactedAt - 1000 })
    yield* store.react({
      chatId: id(user),
      messageId: updateId,
      reactedBy: id(user),
      reactedAt,
      feedback: Option.some({ kind, emoji: kind === "negative" ? "👎" : "👍" })
    })
  })

describe("feedback export", () => {
  it.scoped("writes the answers of one kind since a date from the configured SQLite file; replay --expect reads the file", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const database = path.join(dir, "bot.db")
      yield* Effect.all([
        answered(71, 710_001, "When do you open?", "We open at 9, Monday to Saturday.", "negative", march(2)),
        answered(72, 720_001, "Do you deliver to Berlin?", "Yes, in 2 days.", "positive", march(3)),
        answered(73, 730_001, "Is the shop open on Sunday?", "No, we are closed on Sundays.", "negative", march(5)),
        answered(74, 740_001, "What does delivery cost?", "4.90 EUR.", "negative", Date.UTC(2026, 1, 28, 23, 59))
      ], { discard: true }).pipe(Effect.provide(StoresSqlite({ path: database, busyTimeout: "1 second" })))

      const out = path.join(dir, "negative.jsonl")
      const cli = Command.run(feedbackCommand, { name: "dialog-bot", version: "test" })
      yield* cli(["node", "dialog-bot", "export", "--since", "2026-03-01", "--kind", "negative", "--out", out]).pipe(
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["STORE", "sqlite"], ["SQLITE_PATH", database]])))
      )
      const lines = (yield* fs.readFileString(out)).trim().split("\n").map((line) => JSON.parse(line) as Record<string, unknown>)
      expect(lines).toEqual([
        expect.objectContaining({
          update_id: 710_001,
          message: expect.objectContaining({ chat: { id: 71, type: "private" }, text: "When do you open?" }),
          chat_id: 71,
          text: "We open at 9, Monday to Saturday.",
          feedback: "negative"
        }),
        expect.objectContaining({ update_id: 730_001, chat_id: 73, text: "No, we are closed on Sundays.", feedback: "negative" })
      ])

      const replay = (expectMode: "exact" | "shape") =>
        runReplayCommand({ file: out, out: Option.none(), concurrency: Option.none(), expect: Option.some(out), expectMode, clock: Option.none() })
      // Both questions are answered again (shape); the offline model's answers are not the ones users disliked (exact).
      yield* replay("shape")
      const mismatch = yield* Effect.flip(replay("exact"))
      expect(mismatch._tag).toBe("ReplayMismatch")
      const report = mismatch._tag === "ReplayMismatch" ? mismatch.report : ""
      expect(report).toContain("We open at 9, Monday to Saturday.")
      expect(report).toContain("No, we are closed on Sundays.")
    }).pipe(Effect.provide(NodeContext.layer)))
})
