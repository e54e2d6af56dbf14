import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { withFixedClock } from "../../src/replay/FixedClock.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { parseUpdates, renderTranscript, replay, replaySummary } from "../../src/replay/Replay.ts"
import type { TranscriptLine } from "../../src/replay/Transcript.ts"
import { makeUpdateRecorder } from "../../src/replay/UpdateRecorder.ts"
import { conversation, testBot, textMessage } from "../../src/testing/index.ts"

describe("rendering", () => {
  it("the transcript groups inputs per chat in order of first appearance, each followed by its replies", () => {
    const updates = [
      textMessage({ userId: 11, updateId: 1, firstName: "Ann", text: "Hello" }),
      textMessage({ userId: 12, updateId: 2, firstName: "Bob", text: "Hi" }),
      textMessage({ userId: 11, updateId: 3, firstName: "Ann", text: "Hours?" }),
      { update_id: 4, callback_query: { id: "q", from: { id: 11, is_bot: false, first_name: "Ann" }, chat_instance: "c" } }
    ]
    const { bad, updates: parsed } = parseUpdates(`${updates.map((u) => JSON.stringify(u)).join("\n")}\nnot json\n`)
    expect(bad.map((b) => b.line)).toEqual([5])
    const reply = (updateId: number, chatId: number, text: string) => ({
      chatId: chatId as TelegramId,
      text,
      updateId: Option.some(updateId as TelegramId)
    })
    const text = renderTranscript(parsed, [reply(1, 11, "Hello, Ann"), reply(2, 12, "Hi, Bob"), reply(3, 11, "9 to 5\nMonday to Friday")])
    expect(text).toBe(
      [
        "── chat 11 ──",
        "👤 Ann: Hello",
        "🤖 Hello, Ann",
        "👤 Ann: Hours?",
        "🤖 9 to 5",
        "   Monday to Friday",
        "· callback_query",
        "",
        "── chat 12 ──",
        "👤 Bob: Hi",
        "🤖 Hi, Bob"
      ].join("\n")
    )
  })

  it("the summary counts updates, skipped lines and bot messages", () => {
    const sent = [{ update_id: 1, chat_id: 2, text: "a" }, { update_id: 2, chat_id: 2, text: "b" }]
    expect(replaySummary({ updates: 5, badLines: 0, sent })).toBe("replayed 5 updates, 2 bot messages")
    expect(replaySummary({ updates: 5, badLines: 2, sent })).toBe("replayed 5 updates (2 bad lines skipped), 2 bot messages")
  })
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
      // What changed within a reply is marked: all of the edited one, only the hour of the other.
      expect(mismatch.report).toContain("update 8000002 in chat 501: different replies\n    expected: [-We open at 9.-]\n    actual  : {+Opening hours")
      expect(mismatch.report).toContain("update 8000010 in chat 502: different replies\n    expected: It's Thursday, 15 January 2026 at [-11-]:00")
      expect(mismatch.report).toContain("    actual  : It's Thursday, 15 January 2026 at {+12+}:00")
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
