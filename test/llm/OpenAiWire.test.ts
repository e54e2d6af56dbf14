/**
 * The live model's seams without a server: the request and response mapping (`OpenAiWire`)
 * and which SDK failures the retry policy repeats (`OpenAiRetry`).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Either, Option } from "effect"
import OpenAI from "openai"
import { capToolResult } from "../../src/llm/findings.ts"
import { noUsage } from "../../src/llm/LanguageModel.ts"
import { failureOf } from "../../src/llm/OpenAiRetry.ts"
import {
  decodeCompletion,
  fromWire,
  maxToolCallsPerResponse,
  toWireMessages,
  toWireTools,
  type WireCompletion
} from "../../src/llm/OpenAiWire.ts"

const decoded = (raw: unknown): WireCompletion => Either.getOrThrow(decodeCompletion(raw))

describe("OpenAiWire", () => {
  it("maps every role; an assistant turn keeps its tool calls, a tool result is capped", () => {
    const long = "x".repeat(500)
    expect(toWireMessages([
      { role: "system", content: "s" },
      { role: "user", content: "u" },
      { role: "assistant", content: null },
      { role: "assistant", content: null, toolCalls: [{ id: "c1", name: "get_current_time", arguments: "{}" }] },
      { role: "tool", toolCallId: "c1", content: long }
    ], 200)).toEqual([
      { role: "system", content: "s" },
      { role: "user", content: "u" },
      { role: "assistant", content: "" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "c1", type: "function", function: { name: "get_current_time", arguments: "{}" } }]
      },
      { role: "tool", tool_call_id: "c1", content: capToolResult(long, 200) }
    ])
    expect(toWireTools([{ name: "t", description: "d", parameters: { type: "object", properties: {} } }])).toEqual([
      { type: "function", function: { name: "t", description: "d", parameters: { type: "object", properties: {} } } }
    ])
  })

  it("reads a lenient completion: missing ids, object arguments, null usage, the requested model", () => {
    const response = fromWire(decoded({
      choices: [{
        message: {
          content: null,
          tool_calls: [
            { function: { name: "a", arguments: { q: 1 } } },
            { id: "x", function: { name: "b", arguments: "{\"r\":2}" } },
            { function: { name: "c" } }
          ]
        }
      }],
      usage: null
    }), "gpt-test")
    expect(response).toEqual(Option.some({
      text: null,
      toolCalls: [
        { id: "call_0", name: "a", arguments: "{\"q\":1}" },
        { id: "x", name: "b", arguments: "{\"r\":2}" },
        { id: "call_2", name: "c", arguments: "{}" }
      ],
      usage: noUsage,
      model: "gpt-test"
    }))
  })

  it("a refusal is the text when there is no content; no choices is None; nonsense does not decode", () => {
    const refused = fromWire(decoded({ model: "m", choices: [{ message: { refusal: "no" } }], usage: { prompt_tokens: 3.4 } }), "x")
    expect(Option.map(refused, (r) => [r.text, r.model, r.usage.promptTokens])).toEqual(Option.some(["no", "m", 3]))
    expect(fromWire(decoded({ choices: [] }), "x")).toEqual(Option.none())
    expect(Either.isLeft(decodeCompletion({ choices: "none" }))).toBe(true)
  })

  it(`keeps at most ${maxToolCallsPerResponse} tool calls of one response`, () => {
    const calls = Array.from({ length: maxToolCallsPerResponse + 5 }, (_, i) => ({ id: `c${i}`, function: { name: "t", arguments: "{}" } }))
    const response = fromWire(decoded({ choices: [{ message: { tool_calls: calls } }] }), "x")
    expect(Option.map(response, (r) => r.toolCalls.length)).toEqual(Option.some(maxToolCallsPerResponse))
  })
})

describe("OpenAiRetry failureOf", () => {
  const headers = (entries: Record<string, string>) => new Headers(entries)

  it("retries 408, 409, 429 and 5xx with the wait the endpoint asked for; not other statuses", () => {
    const retried = [408, 409, 429, 500, 503].map((status) => failureOf(OpenAI.APIError.generate(status, undefined, "x", headers({})), 0))
    expect(retried.map((f) => [f.retryable, Option.getOrNull(f.status)])).toEqual([
      [true, 408], [true, 409], [true, 429], [true, 500], [true, 503]
    ])
    const limited = failureOf(OpenAI.APIError.generate(429, undefined, "slow down", headers({ "retry-after-ms": "250" })), 0)
    expect(Option.map(limited.retryAfter, Duration.toMillis)).toEqual(Option.some(250))
    const refused = [400, 401, 404, 422].map((status) => failureOf(OpenAI.APIError.generate(status, undefined, "x", headers({})), 0))
    expect(refused.map((f) => f.retryable)).toEqual([false, false, false, false])
  })

  it("retries timeouts and connection errors; not an abort or an unreadable response", () => {
    expect(failureOf(new OpenAI.APIConnectionTimeoutError(), 0)).toMatchObject({ retryable: true, message: "request timed out" })
    const refused = failureOf(new OpenAI.APIConnectionError({ cause: new Error("connect ECONNREFUSED") }), 0)
    expect(refused.retryable).toBe(true)
    expect(refused.message).toContain("ECONNREFUSED")
    expect(failureOf(new OpenAI.APIUserAbortError(), 0)).toMatchObject({ retryable: false, message: "request aborted" })
    expect(failureOf(new SyntaxError("Unexpected token"), 0)).toMatchObject({ retryable: false })
  })
})
