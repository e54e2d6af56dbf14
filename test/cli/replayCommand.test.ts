import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger, LogLevel, Option } from "effect"
import { describeError } from "../../src/cli/Failure.ts"
import { replayOutcome } from "../../src/cli/replay.ts"
import type { TranscriptLine } from "../../src/replay/Transcript.ts"
import { textMessage } from "../../src/testing/index.ts"

const greeting =
  "Hello! I'm the Northwind Goods assistant. Ask me about delivery, payment, opening hours or returns, or tell me your name and phone so I can help with an order."

const line = (update_id: number | null, chat_id: number, text: string): TranscriptLine => ({ update_id, chat_id, text })

describe("replay command", () => {
  it.scoped("--expect: a match exits 0; a difference exits 1 with the diff; replay runs on memory stores whatever STORE says", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const updates = path.join(dir, "updates.jsonl")
      const expected = path.join(dir, "expected.jsonl")
      const database = path.join(dir, "bot.sqlite")
      const env = new Map([["STORE", "sqlite"], ["SQLITE_PATH", database], ["LOG_LEVEL", "none"]])
      yield* fs.writeFileString(updates, `${JSON.stringify(textMessage({ userId: 77, updateId: 1, text: "/start" }))}\n`)
      const outcome = (expect: string) =>
        replayOutcome({
          file: updates,
          out: Option.none(),
          concurrency: Option.none(),
          expect: Option.some(expect),
          expectMode: "exact",
          clock: Option.some("2026-01-15T10:00:00Z")
        }).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(env)), Logger.withMinimumLogLevel(LogLevel.None))

      yield* fs.writeFileString(expected, `${JSON.stringify(line(1, 77, "Howdy!"))}\n`)
      const differs = yield* outcome(expected)
      expect(differs.exitCode).toBe(1)
      expect(Option.getOrThrow(differs.report)).toBe(
        "1 update differs from the expected transcript (exact):\n\nupdate 1 in chat 77: different replies\n    expected: [-Howdy!-]\n" +
          `    actual  : {+${greeting}+}`
      )

      yield* fs.writeFileString(expected, `${JSON.stringify(line(1, 77, greeting))}\n`)
      // twice: a second run is not skipped as duplicates of the first
      expect(yield* outcome(expected)).toEqual({ exitCode: 0, report: Option.none() })
      expect(yield* outcome(expected)).toEqual({ exitCode: 0, report: Option.none() })
      expect(yield* fs.exists(database)).toBe(false)

      yield* fs.writeFileString(expected, "{\"update_id\":1}\n")
      const broken = yield* outcome(expected)
      expect(broken.exitCode).toBe(1)
      expect(Option.getOrThrow(broken.report)).toMatch(/^replay --expect: .*expected\.jsonl:1: not a transcript line/)

      // A bad --clock is a command-line error, reported as every command reports one (exit 2).
      const badClock = yield* Effect.flip(replayOutcome({
        file: updates,
        out: Option.none(),
        concurrency: Option.none(),
        expect: Option.none(),
        expectMode: "exact",
        clock: Option.some("noon")
      }))
      expect(describeError(badClock)).toEqual({
        exitCode: 2,
        message: Option.some("--clock: expected an ISO 8601 date-time such as 2026-01-15T10:00:00Z, got \"noon\"")
      })
    }).pipe(Effect.provide(NodeContext.layer)))
})
