/**
 * A team's own bot as its team runs it: `examples/order-status/main.ts` (a few lines over
 * `runBot`) as a real process, polling the fake Bot API, its model the fake OpenAI endpoint,
 * its custom tool answering from the team's order service.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { textMessage } from "../../src/testing/index.ts"
import { eventually, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { type FakeRequest, makeFakeOpenAi, testKey } from "../support/FakeOpenAi.ts"
import { exitCode, root, start } from "../support/BotProcess.ts"

const entry = `${root}examples/order-status/main.ts`
const tsx = ["--import", "tsx", entry]

const purposeOf = (request: FakeRequest): "classify" | "think" | "synthesize" => {
  const system = String(request.messages[0]?.["content"] ?? "")
  if (system.includes("Classify")) return "classify"
  return request.tools !== undefined ? "think" : "synthesize"
}

describe("a team's entry point (examples/order-status/main.ts)", () => {
  it.scopedLive("polls with the team's profile and tool: the model calls get_order_status and the customer reads the answer", () =>
    Effect.gen(function*() {
      const telegram = yield* makeFakeBotApi()
      const model = yield* makeFakeOpenAi({
        fallback: (request) => {
          switch (purposeOf(request)) {
            case "classify":
              return "orders"
            case "think": {
              const toolResult = request.messages.find((m) => m["role"] === "tool")
              return toolResult === undefined
                ? { toolCalls: [{ id: "lookup", name: "get_order_status", arguments: { order_id: "NW-1001" } }] }
                : "The order is shipped with DHL, tracking JD0146000033."
            }
            case "synthesize":
              return "Your order NW-1001 is on its way with DHL (JD0146000033)."
          }
        }
      })
      const bot = yield* start(process.execPath, [...tsx, "poll"], {
        TELEGRAM_BOT_TOKEN: telegram.token,
        TELEGRAM_API_BASE_URL: telegram.url,
        OPENAI_BASE_URL: model.url,
        OPENAI_API_KEY: testKey,
        STORE: "memory",
        LOG_LEVEL: "warning"
      })
      yield* telegram.pushUpdates(textMessage({ userId: 100_000_001, text: "Where is my order NW-1001?", updateId: 1 }))
      const texts = yield* eventually(telegram.sentTexts(100_000_001), (sent) => sent.length > 0, "30 seconds")
      expect(texts).toEqual(["Your order NW-1001 is on its way with DHL (JD0146000033)."])

      // The team's tool ran against the team's service: its result went back to the model.
      const requests = yield* model.requests
      const toolMessage = requests.flatMap((r) => r.messages).find((m) => m["role"] === "tool")
      expect(JSON.parse(String(toolMessage?.["content"]))).toMatchObject({
        order_id: "NW-1001",
        status: "shipped",
        carrier: "DHL",
        tracking_number: "JD0146000033"
      })
      // …offered under the stage of the team's profile.
      const offered = requests.filter((r) => purposeOf(r) === "think")[0]?.tools?.map((t) => (t["function"] as { name: string }).name)
      expect(offered).toContain("get_order_status")

      bot.child.kill("SIGTERM")
      expect(yield* exitCode(bot.child)).toBe(0)
      // The answer is out: whether its update was still being settled when the signal came or not, nothing is left.
      expect(bot.stderr()).toMatch(/stopped: [01] updates? drained, 0 left pending/)
    }), 90_000)

  it.scopedLive("without a token it names the missing setting (exit 2); --help uses the team's program name", () =>
    Effect.gen(function*() {
      const noToken = yield* start(process.execPath, tsx, { STORE: "memory" })
      expect(yield* exitCode(noToken.child)).toBe(2)
      expect(noToken.stderr()).toContain("TELEGRAM_BOT_TOKEN is not set")
      expect(noToken.stderr()).not.toMatch(/\n\s+at /)

      const help = yield* start(process.execPath, [...tsx, "--help"])
      expect(yield* exitCode(help.child)).toBe(0)
      expect(help.stdout()).toContain("order-bot")
      expect(help.stdout()).toMatch(/\$ order-bot/)
    }), 60_000)
})
