import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { compareTranscripts, parseTranscript, renderDifferences, type TranscriptLine } from "../../src/replay/Transcript.ts"

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

describe("stored transcripts", () => {
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
})
