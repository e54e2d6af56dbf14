import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { compareTranscripts, markChange, parseTranscript, renderDifferences, type TranscriptLine } from "../../src/replay/Transcript.ts"

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
        "    actual  : Hello{+!",
        "              Second line+}",
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

  it("marks what changed within a reply, in whole words", () => {
    expect(markChange("Order LL-1002: processing.", "Order LL-1002: shipped.")).toEqual({
      expected: "Order LL-1002: [-processing-].",
      actual: "Order LL-1002: {+shipped+}."
    })
    expect(markChange("Delivery is 4.90 EUR.", "Delivery is 5.90 EUR.")).toEqual({
      expected: "Delivery is [-4-].90 EUR.",
      actual: "Delivery is {+5+}.90 EUR."
    })
    expect(markChange("Hello Anna", "Hello Anna, welcome back")).toEqual({
      expected: "Hello Anna",
      actual: "Hello Anna{+, welcome back+}"
    })
    const report = renderDifferences(compareTranscripts([line(1, 10, "We open at 9:00 on Monday.")], [line(1, 10, "We open at 10:00 on Monday.")], "exact"), "exact")
    expect(report.split("\n").slice(2)).toEqual([
      "update 1 in chat 10: different replies",
      "    expected: We open at [-9-]:00 on Monday.",
      "    actual  : We open at {+10+}:00 on Monday."
    ])
  })
})

describe("stored transcripts", () => {
  it.effect("lines that are not transcript lines fail with one line per problem: the file, the line, what is wrong", () =>
    Effect.gen(function*() {
      const ok = yield* parseTranscript("{\"update_id\":1,\"chat_id\":2,\"text\":\"a\"}\n\n{\"update_id\":null,\"chat_id\":2,\"text\":\"b\"}\n", "t.jsonl")
      expect(ok).toEqual([line(1, 2, "a"), line(null, 2, "b")])
      const error = yield* Effect.flip(parseTranscript(
        [
          "{\"update_id\":1,\"chat_id\":2,\"text\":\"a\"}",
          "{\"update_id\":1,\"text\":\"a\"}",
          "nope",
          "{\"update_id\":\"7\",\"chat_id\":2.5,\"text\":\"a\"}"
        ].join("\n"),
        "t.jsonl"
      ))
      expect(error._tag).toBe("TranscriptFileError")
      expect(error.problems.map((p) => p.line)).toEqual([2, 3, 4])
      const lines = error.message.split("\n")
      expect(lines).toHaveLength(3)
      expect(lines[0]).toBe("t.jsonl:2: not a transcript line {\"update_id\",\"chat_id\",\"text\"}: chat_id: is missing")
      expect(lines[1]).toMatch(/^t\.jsonl:3: not a transcript line \{"update_id","chat_id","text"\}: not JSON \(.+\)$/)
      expect(lines[2]).toMatch(/^t\.jsonl:4: not a transcript line \{"update_id","chat_id","text"\}: update_id: .+; chat_id: .+$/)
    }))

  it.effect("a long broken file lists ten problems and counts the rest", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(parseTranscript(Array.from({ length: 14 }, () => "{}").join("\n"), "t.jsonl"))
      const lines = error.message.split("\n")
      expect(lines).toHaveLength(11)
      expect(lines[10]).toBe("t.jsonl: and 4 more lines like these")
    }))
})
