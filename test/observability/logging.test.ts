import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel } from "effect"
import { makeLogger, operatorLine } from "../../src/runtime/Logging.ts"
import { runUpdates, testBot, textMessage } from "../../src/testing/index.ts"

interface JsonLine {
  readonly message: unknown
  readonly logLevel: string
  readonly timestamp: string
  readonly annotations: Readonly<Record<string, unknown>>
  readonly trace_id?: string
  readonly span_id?: string
}

/** A JSON logger writing into an array instead of stderr. */
const capture = () => {
  const lines: Array<string> = []
  const layer = Layer.merge(
    Logger.add(makeLogger("json", (line) => lines.push(line))),
    Logger.minimumLogLevel(LogLevel.Info)
  )
  const parsed = () => lines.map((line) => JSON.parse(line) as JsonLine)
  return { lines, layer, parsed }
}

describe("JSON logs", () => {
  it.effect("every line of a dialog carries update_id and chat_id; stage once classified; the outcome line has outcome, duration and trace", () => {
    const { layer, lines, parsed } = capture()
    return Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 701, updateId: 9401, text: "How much is delivery?" })])
      expect(lines.every((line) => line.endsWith("\n") && !line.slice(0, -1).includes("\n"))).toBe(true)
      const all = parsed()
      const ofUpdate = all.filter((l) => l.annotations["update_id"] === 9401)
      expect(ofUpdate.length).toBeGreaterThanOrEqual(3)
      expect(ofUpdate.every((l) => l.annotations["chat_id"] === 701)).toBe(true)

      // A warning written inside the think stage carries the stage.
      const thinkFailed = ofUpdate.find((l) => String(l.message).startsWith("think step failed"))
      expect(thinkFailed?.logLevel).toBe("WARN")
      expect(thinkFailed?.annotations["stage"]).toBe("delivery")

      const outcome = ofUpdate.find((l) => l.message === "update answered (delivery, with fallback)")
      expect(outcome?.logLevel).toBe("INFO")
      expect(outcome?.annotations).toMatchObject({ update_id: 9401, chat_id: 701, outcome: "fallback", stage: "delivery" })
      expect(typeof outcome?.annotations["duration_ms"]).toBe("number")
      expect(outcome?.trace_id).toMatch(/^[0-9a-f]{32}$/)
      expect(outcome?.span_id).toMatch(/^[0-9a-f]{16}$/)
      expect(Number.isNaN(Date.parse(outcome?.timestamp ?? ""))).toBe(false)

      // One trace: every line of the update names the same trace.
      expect(new Set(ofUpdate.map((l) => l.trace_id)).size).toBe(1)
      // The user's text is never logged.
      expect(lines.some((line) => line.includes("How much is delivery"))).toBe(false)
    }).pipe(
      Effect.provide(testBot({
        script: { classify: ["delivery"], think: [{ fail: "upstream 500" }], synthesize: ["Delivery is 4.90 EUR."] }
      })),
      Effect.provide(layer)
    )
  })

  it.effect("with tracing off no line carries a trace_id or span_id", () => {
    const { layer, parsed } = capture()
    return Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 703, updateId: 9403, text: "hello" })]).pipe(Effect.withTracerEnabled(false))
      const ofUpdate = parsed().filter((l) => l.annotations["update_id"] === 9403)
      expect(ofUpdate.length).toBeGreaterThanOrEqual(2)
      expect(ofUpdate.filter((l) => "trace_id" in l || "span_id" in l)).toEqual([])
    }).pipe(
      Effect.provide(testBot({ script: { classify: ["general"], think: ["ok"], synthesize: ["Hi!"] } })),
      Effect.provide(layer)
    )
  })

  it("an operator's line is the plain text in the pretty format, a JSON line like the logger's in the JSON format", () => {
    expect(operatorLine("pretty", "bot: @shop_bot (id 1)")).toBe("bot: @shop_bot (id 1)")
    const line = JSON.parse(operatorLine("json", "stopped: 0 updates drained, 0 left pending", "WARN")) as JsonLine
    expect(line).toMatchObject({ message: "stopped: 0 updates drained, 0 left pending", logLevel: "WARN" })
    expect(Number.isNaN(Date.parse(line.timestamp))).toBe(false)
  })

  it.effect("a failed update logs its outcome as a warning with the reason", () => {
    const { layer, parsed } = capture()
    return Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 702, updateId: 9402, text: "hello" })])
      const line = parsed().find((l) => l.annotations["update_id"] === 9402 && l.annotations["outcome"] !== undefined)
      expect(line?.logLevel).toBe("WARN")
      expect(line?.annotations).toMatchObject({ outcome: "failed", chat_id: 702 })
      expect(String(line?.message)).toContain("update failed, sending the apology")
    }).pipe(
      Effect.provide(testBot({
        script: { classify: ["general"], think: ["ok"], synthesize: ["Hi!"] },
        telegram: {
          onSend: (message) =>
            message.text === "Hi!" ? Effect.dieMessage("the transport exploded") : Effect.void
        }
      })),
      Effect.provide(layer)
    )
  })
})
