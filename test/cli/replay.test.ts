import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Clock, ConfigProvider, Duration, Effect, Fiber, Layer, Logger, LogLevel, Option, TestClock } from "effect"
import { makeUpdateRecorder } from "../../src/cli/recording.ts"
import { replayOutcome } from "../../src/cli/replayCommand.ts"
import {
  compareTranscripts,
  parseClock,
  parseTranscript,
  renderDifferences,
  replay,
  type TranscriptLine,
  withFixedClock
} from "../../src/cli/replay.ts"
import { conversation, testBot, textMessage } from "../../src/testing/index.ts"

const greeting =
  "Hello! I'm the Northwind Goods assistant. Ask me about delivery, payment, opening hours or returns, or tell me your name and phone so I can help with an order."

const line = (update_id: number | null, chat_id: number, text: string): TranscriptLine => ({ update_id, chat_id, text })

describe("compareTranscripts", () => {
  const stored = [line(1, 10, "Hello"), line(2, 10, "Delivery is 4.90 EUR."), line(2, 10, "Anything else?"), line(3, 20, "Hi")]

  it("the same replies match, whatever the order of updates of different chats", () => {
    const rerun = [line(3, 20, "Hi"), line(1, 10, "Hello"), line(2, 10, "Delivery is 4.90 EUR."), line(2, 10, "Anything else?")]
    expect(compareTranscripts(stored, rerun, "exact")).toEqual([])
    expect(compareTranscripts(stored, rerun, "shape")).toEqual([])
  })

  it("lists changed, missing and extra updates", () => {
    const rerun = [line(1, 10, "Hello!"), line(2, 10, "Anything else?"), line(2, 10, "Delivery is 4.90 EUR."), line(4, 20, "New")]
    expect(compareTranscripts(stored, rerun, "exact")).toEqual([
      { updateId: 1, chatId: 10, kind: "changed", expected: ["Hello"], actual: ["Hello!"] },
      {
        updateId: 2,
        chatId: 10,
        kind: "changed",
        expected: ["Delivery is 4.90 EUR.", "Anything else?"],
        actual: ["Anything else?", "Delivery is 4.90 EUR."]
      },
      { updateId: 3, chatId: 20, kind: "missing", expected: ["Hi"], actual: [] },
      { updateId: 4, chatId: 20, kind: "extra", expected: [], actual: ["New"] }
    ])
  })

  it("shape compares only how many replies each update got", () => {
    const rerun = [line(1, 10, "Good day"), line(2, 10, "One long answer"), line(3, 20, "Hey")]
    expect(compareTranscripts(stored, rerun, "shape")).toEqual([
      { updateId: 2, chatId: 10, kind: "changed", expected: ["Delivery is 4.90 EUR.", "Anything else?"], actual: ["One long answer"] }
    ])
  })

  it("a reply sent to another chat is a difference", () => {
    expect(compareTranscripts([line(1, 10, "x")], [line(1, 11, "x")], "exact").map((d) => d.kind)).toEqual(["missing", "extra"])
  })

  it("renders a readable listing: per update, expected then actual", () => {
    const report = renderDifferences(
      compareTranscripts(stored, [line(1, 10, "Hello!\nSecond line"), line(2, 10, "Delivery is 4.90 EUR."), line(2, 10, "Anything else?")], "exact"),
      "exact"
    )
    expect(report).toBe(
      [
        "2 updates differ from the expected transcript (exact):",
        "",
        "update 1 in chat 10: different replies",
        "    expected: Hello",
        "    actual  : Hello!",
        "              Second line",
        "",
        "update 3 in chat 20: missing (expected replies, got none)",
        "    expected: Hi",
        "    actual  : (no reply)"
      ].join("\n")
    )
    expect(renderDifferences(compareTranscripts(stored, [line(1, 10, "x")], "shape"), "shape")).toContain(
      "update 2 in chat 10: missing (expected replies, got none)\n    expected: 2 replies\n    actual  : (no reply)"
    )
    expect(renderDifferences([], "exact")).toBe("replies match the expected transcript")
  })
})

describe("stored transcripts and the clock", () => {
  it.effect("a line that is not a transcript line fails with the file and line number", () =>
    Effect.gen(function*() {
      const ok = yield* parseTranscript("{\"update_id\":1,\"chat_id\":2,\"text\":\"a\"}\n\n{\"update_id\":null,\"chat_id\":2,\"text\":\"b\"}\n", "t.jsonl")
      expect(ok).toEqual([line(1, 2, "a"), line(null, 2, "b")])
      const error = yield* Effect.flip(parseTranscript("{\"update_id\":1,\"chat_id\":2,\"text\":\"a\"}\n{\"update_id\":1,\"text\":\"a\"}\n", "t.jsonl"))
      expect(error._tag).toBe("TranscriptFileError")
      expect(error.line).toBe(2)
      expect(error.message).toMatch(/^t\.jsonl:2: not a transcript line/)
      expect(error.message).toMatch(/chat_id/)
      const notJson = yield* Effect.flip(parseTranscript("nope", "t.jsonl"))
      expect(notJson.line).toBe(1)
    }))

  it.effect("--clock takes ISO 8601 date-times and rejects anything else with a ConfigurationError", () =>
    Effect.gen(function*() {
      expect(yield* parseClock("2026-01-15T10:00:00Z")).toBe(Date.UTC(2026, 0, 15, 10))
      expect(yield* parseClock("2026-01-15T12:00:00+02:00")).toBe(Date.UTC(2026, 0, 15, 10))
      expect(yield* parseClock("2026-01-15")).toBe(Date.UTC(2026, 0, 15))
      const error = yield* Effect.flip(parseClock("tomorrow at noon"))
      expect(error._tag).toBe("ConfigurationError")
      expect(error.message).toMatch(/ISO 8601/)
      expect((yield* Effect.flip(parseClock("2026-13-45T99:00:00Z")))._tag).toBe("ConfigurationError")
    }))

  it.effect("a fixed clock reads one instant in every fiber and still sleeps on the clock beneath", () =>
    Effect.gen(function*() {
      const fixed = Date.UTC(2026, 0, 15, 10)
      const fiber = yield* Effect.fork(
        withFixedClock(fixed)(
          Effect.gen(function*() {
            const inner = yield* Effect.fork(Effect.zipRight(Effect.sleep(Duration.minutes(5)), Clock.currentTimeMillis))
            const before = yield* Clock.currentTimeMillis
            return [before, yield* Fiber.join(inner)] as const
          })
        )
      )
      yield* TestClock.adjust(Duration.minutes(5))
      expect(yield* Fiber.join(fiber)).toEqual([fixed, fixed])
    }))
})

const offlineBot = Layer.merge(testBot({ model: "offline" }), NodeContext.layer)

describe("record → replay --expect round trip", () => {
  const clock = Date.UTC(2026, 0, 15, 10)
  const updates = [
    textMessage({ userId: 501, updateId: 8_000_001, text: "/start" }),
    ...conversation(501, ["Hello! What are your opening hours?", "How much is delivery to Germany?"], { firstUpdateId: 8_000_002 }),
    ...conversation(502, ["What time is it?", "I want a refund, my parcel is broken"], { firstUpdateId: 8_000_010 })
  ]

  const recordAndReplay = Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const dir = yield* fs.makeTempDirectoryScoped()
    const recording = path.join(dir, "updates.jsonl")
    const transcript = path.join(dir, "transcript.jsonl")
    yield* Effect.scoped(
      Effect.flatMap(makeUpdateRecorder({ file: recording, redact: true }), (recorder) =>
        Effect.forEach(updates, (u) => recorder.record(JSON.stringify(u)), { discard: true }))
    )
    const first = yield* replay({ file: recording, out: Option.some(transcript), print: false }).pipe(
      withFixedClock(clock),
      Effect.provide(offlineBot)
    )
    expect(first.updates).toBe(5)
    expect(first.sent.length).toBe(5)
    expect(first.sent.find((l) => l.update_id === 8_000_010)?.text).toMatch(/^It's Thursday, 15 January 2026 at 11:00/)
    return { dir, recording, transcript, fs, path }
  })

  it.scoped("the same recording replays to the same transcript", () =>
    Effect.gen(function*() {
      const { recording, transcript } = yield* recordAndReplay
      const again = yield* replay({ file: recording, out: Option.none(), print: false, expect: Option.some(transcript) }).pipe(
        withFixedClock(clock),
        Effect.provide(offlineBot)
      )
      expect(again.sent.length).toBe(5)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a changed reply, a lost reply and another time fail with ReplayMismatch and a diff", () =>
    Effect.gen(function*() {
      const { dir, fs, path, recording, transcript } = yield* recordAndReplay
      const stored = (yield* fs.readFileString(transcript)).trim().split("\n").map((l) => JSON.parse(l) as TranscriptLine)
      const edited = stored
        .filter((l) => l.update_id !== 8_000_001)
        .map((l) => (l.update_id === 8_000_002 ? { ...l, text: "We open at 9." } : l))
      const expectFile = path.join(dir, "expected.jsonl")
      yield* fs.writeFileString(expectFile, edited.map((l) => JSON.stringify(l)).join("\n") + "\n")

      const mismatch = yield* Effect.flip(
        replay({ file: recording, out: Option.none(), print: false, expect: Option.some(expectFile) }).pipe(
          withFixedClock(clock + 60 * 60 * 1000),
          Effect.provide(offlineBot)
        )
      )
      expect(mismatch._tag).toBe("ReplayMismatch")
      if (mismatch._tag !== "ReplayMismatch") return
      expect(mismatch.differences).toBe(3)
      expect(mismatch.report).toContain("update 8000002 in chat 501: different replies\n    expected: We open at 9.\n    actual  : ")
      expect(mismatch.report).toContain("update 8000010 in chat 502: different replies\n    expected: It's Thursday, 15 January 2026 at 11:00")
      expect(mismatch.report).toContain("    actual  : It's Thursday, 15 January 2026 at 12:00")
      expect(mismatch.report).toContain("update 8000001 in chat 501: extra (replies not in the expected transcript)")

      // shape mode forgives other wording, not a reply too many
      const shape = yield* Effect.flip(
        replay({ file: recording, out: Option.none(), print: false, expect: Option.some(expectFile), expectMode: "shape" }).pipe(
          withFixedClock(clock),
          Effect.provide(offlineBot)
        )
      )
      expect(shape._tag === "ReplayMismatch" && shape.differences).toBe(1)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("a stored transcript that cannot be read fails before any update is replayed", () =>
    Effect.gen(function*() {
      const { dir, path, recording } = yield* recordAndReplay
      const error = yield* Effect.flip(
        replay({ file: recording, out: Option.none(), print: false, expect: Option.some(path.join(dir, "missing.jsonl")) }).pipe(
          Effect.provide(offlineBot)
        )
      )
      expect(error._tag).toBe("TranscriptFileError")
      expect(error.message).toMatch(/missing\.jsonl: cannot read/)
    }).pipe(Effect.provide(NodeContext.layer)))
})

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
        "1 update differs from the expected transcript (exact):\n\nupdate 1 in chat 77: different replies\n    expected: Howdy!\n" +
          `    actual  : ${greeting}`
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

      const badClock = yield* replayOutcome({
        file: updates,
        out: Option.none(),
        concurrency: Option.none(),
        expect: Option.none(),
        expectMode: "exact",
        clock: Option.some("noon")
      })
      expect(badClock.exitCode).toBe(1)
      expect(Option.getOrThrow(badClock.report)).toMatch(/^replay: --clock: expected an ISO 8601 date-time/)
    }).pipe(Effect.provide(NodeContext.layer)))
})
