/**
 * Model and persona choice through the fake Bot API and the live model (the real `openai` SDK)
 * against the fake endpoint, both on 127.0.0.1: `/model` and `/persona` send the profile's
 * choices as an inline keyboard, a button's callback query is answered and the choice kept,
 * and the user's next turn asks the chosen model with the chosen persona; an old keyboard's
 * button is answered and changes nothing; other users keep the profile's own.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { conversationBot, deliver, editedProfile } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { type FakeRequest, makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"

const pirate = "You are Captain Northwind, a cheerful pirate who sells household goods. Speak like a pirate."

/** The shop's profile with two models and a persona to choose from. */
const choosingProfile = editedProfile((shop) => ({
  ...shop,
  models: [{ name: "Fast", model: "fast-model" }, { name: "Deep", model: "deep-model" }],
  personas: [{ name: "Pirate", text: pirate }]
}))

const user = (id: number) => ({ id, is_bot: false, first_name: "Mara", language_code: "en" })
let nextId = 900_100

/** A private message as Telegram sends it; a leading command gets its `bot_command` entity. */
const message = (userId: number, text: string) => {
  const command = /^\/\w+/.exec(text)
  return {
    update_id: nextId++,
    message: {
      message_id: nextId,
      from: user(userId),
      chat: { id: userId, first_name: "Mara", type: "private" },
      date: 1_765_000_000,
      text,
      ...(command === null ? {} : { entities: [{ offset: 0, length: command[0].length, type: "bot_command" }] })
    }
  }
}

/** A press of an inline keyboard's button under the bot's message, as Telegram sends it. */
const press = (userId: number, data: string, keyboard: ReadonlyArray<ReadonlyArray<Record<string, unknown>>>) => ({
  update_id: nextId++,
  callback_query: {
    id: `${4382000000 + nextId}`,
    from: user(userId),
    message: {
      message_id: 51,
      from: { id: 4000000001, is_bot: true, first_name: "Northwind", username: "northwind_bot" },
      chat: { id: userId, first_name: "Mara", type: "private" },
      date: 1_765_000_001,
      text: "Which model should answer you? Now: standard.",
      reply_markup: { inline_keyboard: keyboard }
    },
    chat_instance: "-5839410392049411122",
    data
  }
})

const params = (fake: FakeBotApi, method: string) => Effect.map(fake.calls(method), (calls) => calls.map((c) => c.params))
const isThink = (r: FakeRequest) => String(r.messages[0]?.["content"] ?? "").includes("Call tools when they help")
const isClassify = (r: FakeRequest) => String(r.messages[0]?.["content"] ?? "").includes("Answer with one of")

describe("model and persona choice", () => {
  it.scopedLive("a keyboard, an answered button, and the next turn on the chosen model and persona", () =>
    Effect.gen(function*() {
      const telegram = yield* makeFakeBotApi()
      const llm = yield* makeFakeOpenAi({
        fallback: (r) => (isClassify(r) ? "delivery" : isThink(r) ? "notes" : "Arr, delivery be 4.90 EUR.")
      })
      const profile = yield* choosingProfile
      const bot = conversationBot(telegram, {
        profile,
        model: openAiLayerFor(llm, { model: "main-model", classifyModel: Option.some("classify-model") })
      })
      yield* Effect.gen(function*() {
        yield* deliver(message(7101, "/model"))
        const keyboard = [[{ text: "Fast", callback_data: "model:Fast" }], [{ text: "Deep", callback_data: "model:Deep" }]]
        expect(yield* params(telegram, "sendMessage")).toEqual([
          { chat_id: 7101, text: "Which model should answer you? Now: standard.", reply_markup: { inline_keyboard: keyboard } }
        ])
        const deep = press(7101, "model:Deep", keyboard)
        yield* deliver(deep)
        expect((yield* params(telegram, "answerCallbackQuery")).at(-1)).toEqual({
          callback_query_id: deep.callback_query.id,
          text: "Deep it is, from your next message."
        })
        // A button of a model the profile no longer offers: answered, nothing changed.
        const stale = press(7101, "model:Turbo", [[{ text: "Turbo", callback_data: "model:Turbo" }]])
        yield* deliver(stale)
        expect((yield* params(telegram, "answerCallbackQuery")).at(-1)).toEqual({
          callback_query_id: stale.callback_query.id,
          text: "That choice is no longer offered: send /model or /persona again."
        })

        yield* deliver(message(7101, "/persona"))
        expect((yield* params(telegram, "sendMessage")).at(-1)).toEqual({
          chat_id: 7101,
          text: "How should I talk to you? Now: standard.",
          reply_markup: { inline_keyboard: [[{ text: "Pirate", callback_data: "persona:Pirate" }]] }
        })
        yield* deliver(press(7101, "persona:Pirate", [[{ text: "Pirate", callback_data: "persona:Pirate" }]]))
        yield* deliver(message(7101, "/model"))
        expect((yield* params(telegram, "sendMessage")).at(-1)?.["text"]).toBe("Which model should answer you? Now: Deep.")
        expect(yield* llm.requests).toEqual([])

        // The next turn: classified by the configured model, thought and answered by the chosen one, as the pirate.
        yield* deliver(message(7101, "How much is delivery?"))
        const chosen = yield* llm.requests
        expect(chosen.map((r) => r.model)).toEqual(["classify-model", "deep-model", "deep-model"])
        for (const request of chosen.slice(1)) expect(String(request.messages[0]!["content"])).toMatch(/^You are Captain Northwind/)
        expect(yield* telegram.sentTexts(7101)).toContain("Arr, delivery be 4.90 EUR.")

        // Another user keeps the profile's own model and persona.
        yield* deliver(message(7102, "How much is delivery?"))
        const other = (yield* llm.requests).slice(3)
        expect(other.map((r) => r.model)).toEqual(["classify-model", "main-model", "main-model"])
        for (const request of other.slice(1)) expect(String(request.messages[0]!["content"])).not.toContain("Captain Northwind")
      }).pipe(Effect.provide(Layer.fresh(bot)))
    }))
})
