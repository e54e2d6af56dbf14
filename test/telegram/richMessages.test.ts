/**
 * Answers as rich messages (Bot API 10.1) over the fake Bot API on real HTTP: the final answer
 * with `sendRichMessage` and the drafts with `sendRichMessageDraft`, the model's Markdown
 * normalised to rich Markdown; a server without the rich methods (404) → text with entities,
 * remembered for the process; a refused content → that message only as text; a group's
 * streamed message finished by a rich edit. The history keeps the model's Markdown.
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { toRichMarkdown } from "../../src/telegram/format/richMarkdown.ts"
import { textMessage } from "../../src/testing/index.ts"
import { conversationBot, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

const table = "| Plan | Price |\n|:-----|------:|\n| Basic | $5 |\n| Pro | $12 |"
const answer = `## Plans\n\n${table}\n\nThe area is \\(\\pi r^2\\).`
const rich = "## Plans\n\n| Plan | Price |\n|:-----|------:|\n| Basic | \\$5 |\n| Pro | \\$12 |\n\nThe area is $\\pi r^2$."

const methods = (api: FakeBotApi) => Effect.map(api.calls(), (calls) => calls.map((c) => c.method).filter((m) => m !== "getMe"))
const markdownOf = (params: Readonly<Record<string, unknown>>) => {
  const message = params["rich_message"]
  return typeof message === "object" && message !== null && "markdown" in message ? message.markdown : undefined
}

describe("rich Markdown from the model's", () => {
  it("rewrites formulas' delimiters, prices and images; leaves code alone", () => {
    expect(toRichMarkdown(answer)).toEqual(Option.some(rich))
    expect(toRichMarkdown("See ![chart](https://example.com/c.png) and ![x](data:image/png;base64,AA)")).toEqual(
      Option.some("See [chart](https://example.com/c.png) and x")
    )
    expect(toRichMarkdown("<u>kept</u> <script>alert(1)</script> &copy; &amp;")).toEqual(
      Option.some("<u>kept</u> &lt;script>alert(1)&lt;/script> &amp;copy; &amp;")
    )
    const code = "```ts\nconst price = `$5` // \\(x\\) <div>\n```\nand `$5` in code, $5 outside"
    expect(toRichMarkdown(code)).toEqual(Option.some("```ts\nconst price = `$5` // \\(x\\) <div>\n```\nand `$5` in code, \\$5 outside"))
    expect(toRichMarkdown("x".repeat(40_000))).toEqual(Option.none())
  })
})

describe("answers as rich messages", () => {
  it.scopedLive("a private chat: rich drafts after the placeholder, one rich final message; the history keeps the Markdown", () =>
    Effect.gen(function*() {
      const api = yield* makeFakeBotApi({ richMessages: "accepted" })
      const pieces = answer.match(/[\s\S]{1,12}/g) ?? []
      yield* Effect.gen(function*() {
        yield* deliver(textMessage({ userId: 7201, text: "What plans are there?" }))
        const calls = yield* api.calls()
        const richDrafts = calls.filter((c) => c.method === "sendRichMessageDraft")
        expect(richDrafts.length).toBeGreaterThan(0)
        expect(richDrafts.every((d) => d.params["can_stop"] === true && d.params["chat_id"] === 7201)).toBe(true)
        const finals = calls.filter((c) => c.method === "sendRichMessage")
        expect(finals).toHaveLength(1)
        expect(markdownOf(finals[0]!.params)).toBe(rich)
        expect(yield* api.sentTexts(7201)).toEqual([])
        const history = yield* (yield* HistoryStore).lastN(7201 as TelegramId, 5)
        expect(history.at(-1)!.text).toBe(answer)
      }).pipe(Effect.provide(conversationBot(api, {
        script: { classify: ["general"], think: ["notes"], synthesize: [{ chunks: pieces, every: Duration.millis(5) }] },
        stream: { draftInterval: Duration.millis(20) }
      })))
    }))

  it.scopedLive("a Bot API without the rich methods (404): text with entities, and the rich methods are not asked again", () =>
    Effect.gen(function*() {
      const api = yield* makeFakeBotApi()
      yield* Effect.gen(function*() {
        yield* deliver(
          textMessage({ userId: 7202, text: "Plans?" }),
          textMessage({ userId: 7202, text: "And again?" })
        )
        // One rich message tried; then text, and the second answer does not try again.
        expect((yield* methods(api)).filter((m) => m !== "sendChatAction")).toEqual(["sendRichMessage", "sendMessage", "sendMessage"])
        const texts = yield* api.sentTexts(7202)
        expect(texts).toHaveLength(2)
        expect(texts[0]).toContain("Plans")
        expect(texts[0]).not.toContain("##")
      }).pipe(Effect.provide(conversationBot(api, {
        script: { classify: ["general", "general"], think: ["notes", "notes"], synthesize: [answer, "Still the same."] },
        stream: { replies: false }
      })))
    }))

  it.scopedLive("a refused content (400): that message as text, the next one rich again", () =>
    Effect.gen(function*() {
      const api = yield* makeFakeBotApi({ richMessages: "accepted" })
      yield* api.script("sendRichMessage", { error: 400, description: "Bad Request: can't parse rich message" })
      yield* Effect.gen(function*() {
        yield* deliver(
          textMessage({ userId: 7203, text: "Plans?" }),
          textMessage({ userId: 7203, text: "And again?" })
        )
        const sends = (yield* methods(api)).filter((m) => m !== "sendChatAction")
        expect(sends).toEqual(["sendRichMessage", "sendMessage", "sendRichMessage"])
      }).pipe(Effect.provide(conversationBot(api, {
        script: { classify: ["general", "general"], think: ["notes", "notes"], synthesize: [answer, "Still the same."] },
        stream: { replies: false }
      })))
    }))

  it.scopedLive("a group's streamed message is finished by a rich edit", () =>
    Effect.gen(function*() {
      const api = yield* makeFakeBotApi({ richMessages: "accepted" })
      const pieces = answer.match(/[\s\S]{1,12}/g) ?? []
      yield* Effect.gen(function*() {
        yield* deliver(textMessage({ userId: 7204, chatId: -1007204, text: "Plans?" }))
        const calls = yield* api.calls()
        expect(calls.filter((c) => c.method === "sendMessage")).toHaveLength(1)
        const last = calls.filter((c) => c.method === "editMessageText").at(-1)!
        expect(markdownOf(last.params)).toBe(rich)
        expect(last.params["text"]).toBeUndefined()
      }).pipe(Effect.provide(conversationBot(api, {
        script: { classify: ["general"], think: ["notes"], synthesize: [{ chunks: pieces, every: Duration.millis(5) }] },
        stream: { inGroups: true },
        dialog: { groupMode: "all" }
      })))
    }))
})
