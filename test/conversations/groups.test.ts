/**
 * Groups and supergroups through the fake Bot API: the bot answers only when addressed (a
 * mention, a text mention, a reply to it, a command to it), keeps the other messages as
 * context with the speaker's name, names every speaker to the model, and answers as a reply.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Option } from "effect"
import { addressedBy } from "../../src/dialog/Addressing.ts"
import { decodeUpdate, type TelegramId } from "../../src/domain/Update.ts"
import { ScriptedModel } from "../../src/llm/ScriptedModel.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { turns } from "../../src/testing/index.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"
import { conversationBot, type ConversationBotOptions, deliver } from "../support/ConversationBot.ts"

const fixtures = JSON.parse(readFileSync(new URL("../fixtures/groups.json", import.meta.url), "utf8")) as Record<string, unknown>
const update = (name: string) => fixtures[name]
const shopFans = -1001500000001 as TelegramId
const team = -1001500000002 as TelegramId

/** Runs `body` with the bot over a fresh fake Bot API. */
const withBot = <A, E, R>(options: ConversationBotOptions, body: (fake: Effect.Effect.Success<ReturnType<typeof makeFakeBotApi>>) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const context = yield* Layer.build(conversationBot(fake, options))
    return yield* body(fake).pipe(Effect.provide(context))
  })

const sent = (fake: Effect.Effect.Success<ReturnType<typeof makeFakeBotApi>>) =>
  Effect.map(fake.calls("sendMessage"), (calls) => calls.map((c) => c.params))

describe("groups", () => {
  it.scoped("a message not addressed is kept with its speaker; a mention is answered as a reply, speakers named to the model", () =>
    withBot({ script: turns({ stage: "delivery", synthesize: "It arrives tomorrow." }) }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(update("notAddressed"))
        expect(yield* fake.calls("sendMessage")).toEqual([])
        expect(yield* fake.calls("sendChatAction")).toEqual([])

        yield* deliver(update("mention"))
        expect(yield* sent(fake)).toEqual([{
          chat_id: shopFans,
          text: "It arrives tomorrow.",
          reply_parameters: { message_id: 202, allow_sending_without_reply: true }
        }])
        const synthesis = (yield* (yield* ScriptedModel).requests).find((r) => r.purpose === "synthesize")!
        const users = synthesis.messages.filter((m) => m.role === "user").map((m) => m.content)
        expect(users).toEqual(["Ann Lee: I ordered the blue kettle yesterday", "Bob: @Fake_Bot when does it arrive?"])

        const history = yield* (yield* HistoryStore).lastN(shopFans, 10)
        expect(history.map((m) => [m.role, m.speaker, m.text])).toEqual([
          ["user", "Ann Lee", "I ordered the blue kettle yesterday"],
          ["user", "Bob", "@Fake_Bot when does it arrive?"],
          ["assistant", undefined, "It arrives tomorrow."]
        ])
      })))

  it.scoped("each form of addressing: text mention, reply to the bot, /help@bot; not a mention of another, a reply to a person, /help@other_bot", () =>
    withBot({
      script: turns({ stage: "general", synthesize: "We open at 9." }, { stage: "general", synthesize: "Closed on Sundays." })
    }, (fake) =>
      Effect.gen(function*() {
        for (const name of ["otherMention", "textMention", "replyToBot", "replyToPerson", "commandToBot", "commandToOtherBot"]) {
          yield* deliver(update(name))
        }
        const replies = (yield* sent(fake)).map((p) => [p["chat_id"], (p["reply_parameters"] as { message_id: number }).message_id, String(p["text"]).slice(0, 20)])
        expect(replies).toEqual([
          [team, 204, "We open at 9."],
          [team, 206, "Closed on Sundays."],
          [team, 208, "I can answer questio"]
        ])
        // What was not answered is context: the reply to a person is in the group's history.
        const history = yield* (yield* HistoryStore).lastN(team, 10)
        expect(history.filter((m) => m.role === "user").map((m) => `${m.speaker}: ${m.text}`)).toEqual([
          "Ann Lee: Fake, what are your hours?",
          "Ann Lee: and on Sundays?",
          "Bob: me too",
          "Bob: /help@other_bot"
        ])
      })))

  it.scoped("GROUP_MODE=all answers every group message", () =>
    withBot({ dialog: { groupMode: "all" }, script: turns({ stage: "general", synthesize: "Noted!" }) }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(update("notAddressed"))
        expect(yield* sent(fake)).toEqual([{
          chat_id: shopFans,
          text: "Noted!",
          reply_parameters: { message_id: 201, allow_sending_without_reply: true }
        }])
      })))

  it.scoped("the username is asked once with getMe and kept", () =>
    withBot({ script: turns({ stage: "general", synthesize: "a" }, { stage: "general", synthesize: "b" }) }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(update("mention"), update("notAddressed"), update("textMention"))
        expect(yield* fake.calls("sendMessage")).toHaveLength(2)
        expect(yield* fake.calls("getMe")).toHaveLength(1)
      })))

  it.effect("without an answer from getMe only a reply to the bot's id and a known bare command count", () =>
    Effect.gen(function*() {
      const decode = (name: string) => Effect.map(decodeUpdate(update(name)), (u) => u.message!)
      const knows = (name: string) => name === "help"
      const bot = Option.some({ id: 123456789, username: "fake_bot" })
      expect(addressedBy(yield* decode("mention"), bot, knows)).toEqual(Option.some("mention"))
      expect(addressedBy(yield* decode("mention"), Option.none(), knows)).toEqual(Option.none())
      expect(addressedBy(yield* decode("otherMention"), bot, knows)).toEqual(Option.none())
      expect(addressedBy(yield* decode("textMention"), bot, knows)).toEqual(Option.some("text_mention"))
      expect(addressedBy(yield* decode("replyToBot"), bot, knows)).toEqual(Option.some("reply"))
      expect(addressedBy(yield* decode("replyToPerson"), bot, knows)).toEqual(Option.none())
      expect(addressedBy(yield* decode("commandToBot"), bot, knows)).toEqual(Option.some("command"))
      expect(addressedBy(yield* decode("commandToOtherBot"), bot, knows)).toEqual(Option.none())
      // A message in a forum topic quotes the topic's creation: no reply to the bot.
      expect(addressedBy({ ...(yield* decode("inTopic")), text: "hello", entities: [] }, bot, knows)).toEqual(Option.none())
    }))
})
