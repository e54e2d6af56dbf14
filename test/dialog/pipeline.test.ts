import { describe, expect, it } from "@effect/vitest"
import { Effect, Option } from "effect"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { modelRequests, runUpdates, ScriptedModel, testBot, textMessage, textsTo } from "../../src/testing/index.ts"
import type { TelegramId } from "../../src/domain/Update.ts"

const apology = "Sorry, something went wrong on our side and I can't answer right now. Please try again in a minute."
const systemText = (messages: ReadonlyArray<{ role: string; content?: string | null }>) =>
  messages.filter((m) => m.role === "system").map((m) => m.content ?? "").join("\n")

describe("DialogPipeline stages", () => {
  it.effect("runs classify → think → synthesize and stores both messages", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 7, text: "How much is delivery?" })])
      expect(textsTo(sent, 7)).toEqual(["Standard delivery is 4.90 EUR."])
      const requests = yield* (yield* ScriptedModel).requests
      expect(requests.map((r) => r.purpose)).toEqual(["classify", "think", "synthesize"])
      expect(systemText(requests[1]!.messages)).toContain("Current dialog stage: delivery")
      expect(requests[1]!.tools?.map((t) => t.name)).toEqual([
        "search_knowledge_base",
        "get_client_profile",
        "update_client_profile",
        "get_current_time"
      ])
      const history = yield* (yield* HistoryStore).lastN(7 as TelegramId, 10)
      expect(history.map((m) => [m.role, m.text])).toEqual([
        ["user", "How much is delivery?"],
        ["assistant", "Standard delivery is 4.90 EUR."]
      ])
    }).pipe(
      Effect.provide(testBot({
        script: { classify: ["delivery"], think: ["notes"], synthesize: ["Standard delivery is 4.90 EUR."] }
      }))
    ))

  it.effect("a failed classification uses the default stage", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 8, text: "hello" })])
      expect(textsTo(sent, 8)).toEqual(["Hi!"])
      const requests = yield* (yield* ScriptedModel).requests
      expect(systemText(requests[1]!.messages)).toContain("Current dialog stage: general")
    }).pipe(
      Effect.provide(testBot({ script: { classify: [{ fail: "boom" }], think: ["ok"], synthesize: ["Hi!"] } }))
    ))

  it.effect("an unknown stage from the classifier becomes the default stage", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 8, text: "hello" })])
      const requests = yield* (yield* ScriptedModel).requests
      expect(systemText(requests[1]!.messages)).toContain("Current dialog stage: general")
    }).pipe(
      Effect.provide(testBot({ script: { classify: ["Категория: погода"], think: ["ok"], synthesize: ["Hi!"] } }))
    ))

  it.effect("a failed think step goes on to synthesis with the results gathered so far", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 9, text: "what are your hours?" })])
      expect(textsTo(sent, 9)).toEqual(["We open at 9."])
      const requests = yield* (yield* ScriptedModel).requests
      const synthesis = requests.find((r) => r.purpose === "synthesize")!
      const findings = synthesis.messages.at(-1)!
      expect(findings.role).toBe("system")
      expect(findings.content).toContain("search_knowledge_base")
      expect(findings.content).toContain("Opening hours")
    }).pipe(
      Effect.provide(testBot({
        script: {
          classify: ["general"],
          think: [{ toolCalls: [{ name: "search_knowledge_base", arguments: { query: "opening hours" } }] }, { fail: "500" }],
          synthesize: ["We open at 9."]
        }
      }))
    ))

  it.effect("a failed synthesis tries one plain generation", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 10, text: "hi" })])
      expect(textsTo(sent, 10)).toEqual(["Plain hello"])
      const requests = yield* (yield* ScriptedModel).requests
      const syntheses = requests.filter((r) => r.purpose === "synthesize")
      expect(syntheses).toHaveLength(2)
      expect(syntheses[1]!.messages.at(-1)).toEqual({ role: "user", content: "hi" })
    }).pipe(
      Effect.provide(testBot({
        script: { classify: ["general"], think: ["n"], synthesize: [{ fail: "timeout" }, "Plain hello"] }
      }))
    ))

  it.effect("an empty synthesis counts as a failure", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 10, text: "hi" })])
      expect(textsTo(sent, 10)).toEqual(["Second try"])
    }).pipe(
      Effect.provide(testBot({ script: { classify: ["general"], think: ["n"], synthesize: ["  ", "Second try"] } }))
    ))

  it.effect("the apology is the last resort", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 11, text: "hi" })])
      expect(textsTo(sent, 11)).toEqual([apology])
    }).pipe(
      Effect.provide(testBot({
        script: { classify: [{ fail: "x" }], think: [{ fail: "x" }], synthesize: [{ fail: "x" }, { fail: "x" }] }
      }))
    ))
})

describe("tool loop", () => {
  it.effect("bad arguments, schema failures and unknown tools are fed back to the model", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 12, text: "save my phone" })])
      expect(textsTo(sent, 12)).toEqual(["Saved."])
      const requests = yield* (yield* ScriptedModel).requests
      const second = requests.filter((r) => r.purpose === "think")[1]!
      const toolMessages = second.messages.filter((m) => m.role === "tool")
      expect(toolMessages.map((m) => m.role === "tool" && m.toolCallId)).toEqual(["a", "b", "c", "d"])
      const contents = toolMessages.map((m) => JSON.parse(m.role === "tool" ? m.content : "{}"))
      expect(contents[0].error).toMatch(/not valid JSON/)
      expect(contents[1].error).toMatch(/invalid arguments for update_client_profile/)
      expect(contents[1].error).toMatch(/phone number/)
      expect(contents[2].error).toMatch(/unknown tool "drop_tables"/)
      expect(contents[3].saved).toEqual(["phone"])
      const client = yield* (yield* ClientStore).get(12 as TelegramId)
      expect(Option.getOrThrow(client).profile.phone).toBe("+44 20 7946 0958")
    }).pipe(
      Effect.provide(testBot({
        script: {
          classify: ["account"],
          think: [
            {
              toolCalls: [
                { id: "a", name: "update_client_profile", arguments: "{\"phone\": " },
                { id: "b", name: "update_client_profile", arguments: { phone: "call me maybe" } },
                { id: "c", name: "drop_tables", arguments: {} },
                { id: "d", name: "update_client_profile", arguments: { phone: "+44 20 7946 0958" } }
              ]
            },
            "phone saved"
          ],
          synthesize: ["Saved."]
        }
      }))
    ))

  it.effect("a tool not allowed in the stage is refused", () =>
    Effect.gen(function*() {
      yield* runUpdates([textMessage({ userId: 13, text: "x" })])
      const requests = yield* (yield* ScriptedModel).requests
      const tool = requests.filter((r) => r.purpose === "think")[1]!.messages.find((m) => m.role === "tool")
      expect(tool && tool.role === "tool" && JSON.parse(tool.content).error).toMatch(/unknown tool "request_human_handoff"/)
    }).pipe(
      Effect.provide(testBot({
        script: {
          classify: ["payment"],
          think: [{ toolCalls: [{ name: "request_human_handoff", arguments: { reason: "x" } }] }, "n"],
          synthesize: ["ok"]
        }
      }))
    ))

  it.effect("the loop stops after TOOL_MAX_STEPS model calls", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([textMessage({ userId: 14, text: "time?" })])
      expect(textsTo(sent, 14)).toEqual(["It is late."])
      const requests = yield* (yield* ScriptedModel).requests
      expect(requests.filter((r) => r.purpose === "think")).toHaveLength(2)
    }).pipe(
      Effect.provide(testBot({
        dialog: { toolMaxSteps: 2 },
        script: {
          classify: ["general"],
          think: [
            { toolCalls: [{ name: "get_current_time" }] },
            { toolCalls: [{ name: "get_current_time" }] },
            "never asked"
          ],
          synthesize: ["It is late."]
        }
      }))
    ))
})

describe("commands and non-text messages", () => {
  it.effect("/clear removes the history and reports the count; /start and /help answer without the model", () =>
    Effect.gen(function*() {
      const sent = yield* runUpdates([
        textMessage({ userId: 15, text: "/start" }),
        textMessage({ userId: 15, text: "first" }),
        textMessage({ userId: 15, text: "second" }),
        textMessage({ userId: 15, text: "/clear" }),
        textMessage({ userId: 15, text: "/help@dialog_demo_bot" })
      ])
      const texts = textsTo(sent, 15)
      expect(texts[0]).toMatch(/^Hello!/)
      expect(texts[3]).toMatch(/4 messages removed/)
      expect(texts[4]).toMatch(/\/clear/)
      expect(yield* (yield* HistoryStore).lastN(15 as TelegramId, 10)).toEqual([])
      expect((yield* (yield* ScriptedModel).requests).length).toBe(6)
    }).pipe(
      Effect.provide(testBot({
        script: { classify: ["general", "general"], think: ["n", "n"], synthesize: ["a1", "a2"] }
      }))
    ))

  it.effect("a photo is the user's turn (described to the model), with or without a caption; a sticker gets the text-only notice", () =>
    Effect.gen(function*() {
      const photo = {
        update_id: 501,
        message: {
          message_id: 1,
          from: { id: 16, is_bot: false, first_name: "P" },
          chat: { id: 16, type: "private" },
          date: 1,
          photo: [{ file_id: "f", file_unique_id: "u", width: 1, height: 1 }]
        }
      }
      const captioned = { update_id: 502, message: { ...photo.message, message_id: 2, caption: "is this in stock?" } }
      const sticker = {
        update_id: 503,
        message: { ...photo.message, photo: undefined, message_id: 3, sticker: { file_id: "s", file_unique_id: "s" } }
      }
      const sent = yield* runUpdates([photo, captioned, sticker])
      expect(textsTo(sent, 16)).toEqual([
        "A nice photo.",
        "Checking stock.",
        "Sorry, I can't read this kind of message. Please write in words: I also understand voice messages, photos and documents."
      ])
      const synthesis = yield* modelRequests("synthesize")
      expect(synthesis.map((r) => r.messages.filter((m) => m.role === "user").at(-1))).toEqual([
        { role: "user", content: "[photo]", received: ["a photo"] },
        { role: "user", content: "is this in stock?\n[photo]", received: ["a photo"] }
      ])
    }).pipe(Effect.provide(testBot({
      script: { classify: ["general", "general"], think: ["n", "n"], synthesize: ["A nice photo.", "Checking stock."] }
    }))))

  it.effect("a kicked my_chat_member blocks the client and member unblocks", () =>
    Effect.gen(function*() {
      const member = (status: string, updateId: number) => ({
        update_id: updateId,
        my_chat_member: {
          chat: { id: 17, type: "private" },
          from: { id: 17, is_bot: false, first_name: "K" },
          date: 1,
          old_chat_member: { user: { id: 1, is_bot: true, first_name: "B" }, status: "member" },
          new_chat_member: { user: { id: 1, is_bot: true, first_name: "B" }, status }
        }
      })
      yield* runUpdates([textMessage({ userId: 17, text: "/start" }), member("kicked", 601)])
      const clients = yield* ClientStore
      yield* clients.getOrCreate({ id: 17 as TelegramId, firstName: "K" })
      yield* runUpdates([member("kicked", 602)])
      expect(Option.getOrThrow(yield* clients.get(17 as TelegramId)).blocked).toBe(true)
      yield* runUpdates([member("member", 603)])
      expect(Option.getOrThrow(yield* clients.get(17 as TelegramId)).blocked).toBe(false)
    }).pipe(Effect.provide(testBot())))
})
