import { describe, expect, it } from "@effect/vitest"
import type { HistoryMessage } from "../../src/domain/Dialog.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { renderFindings, trimHistory } from "../../src/dialog/prompts.ts"
import { capToolResult } from "../../src/llm/findings.ts"

const message = (i: number, text: string): HistoryMessage => ({
  chatId: 1 as TelegramId,
  updateId: i as TelegramId,
  role: i % 2 === 0 ? "user" : "assistant",
  text,
  at: i
})
const chars = (history: ReadonlyArray<HistoryMessage>) => history.reduce((n, m) => n + m.text.length, 0)

describe("trimHistory", () => {
  it("keeps the newest messages that fit, oldest first", () => {
    const history = [0, 1, 2, 3, 4].map((i) => message(i, `m${i}`.padEnd(30, ".")))
    const kept = trimHistory(history, 100)
    expect(kept.map((m) => m.updateId)).toEqual([2, 3, 4])
    expect(chars(kept)).toBeLessThanOrEqual(100)
  })

  it("cuts one huge message to half the budget, keeping its end", () => {
    const kept = trimHistory([message(0, "short"), message(1, `${"x".repeat(10_000)}END`)], 200)
    expect(kept.at(-1)!.text.endsWith("END")).toBe(true)
    expect(kept.at(-1)!.text.startsWith("…")).toBe(true)
    expect(chars(kept)).toBeLessThanOrEqual(200)
    expect(kept.map((m) => m.text)).toContain("short")
  })

  it("never exceeds the budget, whatever the messages", () => {
    for (const budget of [1, 2, 10, 77, 500, 8000]) {
      for (const size of [0, 1, 5, 49, 300, 5000]) {
        const history = Array.from({ length: 30 }, (_, i) => message(i, "y".repeat(size + i)))
        expect(chars(trimHistory(history, budget))).toBeLessThanOrEqual(budget)
      }
    }
  })

  it("an empty history stays empty", () => {
    expect(trimHistory([], 100)).toEqual([])
  })
})

describe("tool results fed back", () => {
  it("a short result is kept as it is", () => {
    expect(capToolResult("{\"ok\":true}", 100)).toBe("{\"ok\":true}")
  })

  it("a long result is cut to the cap and says so", () => {
    const capped = capToolResult("z".repeat(10_000), 4000)
    expect(capped.length).toBeLessThanOrEqual(4000)
    expect(capped).toMatch(/…\[\d+ more characters cut\]$/)
    expect(capToolResult("z".repeat(10_000)).length).toBeLessThanOrEqual(4000)
  })

  it("the findings for synthesis stay bounded however much the tools returned", () => {
    const results = [1, 2, 3].map((i) => ({ callId: `c${i}`, name: `tool_${i}`, ok: true, content: "w".repeat(50_000) }))
    const findings = renderFindings("n".repeat(50_000), results)
    expect(findings.length).toBeLessThan(4 * 4000 + 500)
    expect(findings).toContain("- tool_3: www")
  })
})
