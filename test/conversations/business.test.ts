/**
 * Telegram Business through the fake Bot API: answers carry the message's business connection
 * (typing too), the owner's own messages are never answered and pause the bot in that chat for
 * OWNER_TAKEOVER_PAUSE (TestClock), a disabled connection or one without the right to reply
 * gets no answers, edits count as corrections, deletions are acknowledged.
 */
import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, TestClock } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { ConversationState } from "../../src/store/ConversationState.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { turns } from "../../src/testing/index.ts"
import { conversationBot, type ConversationBotOptions, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

const fixtures = JSON.parse(readFileSync(new URL("../fixtures/business.json", import.meta.url), "utf8")) as Record<string, unknown>
const update = (name: string) => fixtures[name]
const carl = 6001 as TelegramId

const withBot = <A, E, R>(options: ConversationBotOptions, body: (fake: FakeBotApi) => Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const context = yield* Layer.build(conversationBot(fake, options))
    return yield* body(fake).pipe(Effect.provide(context))
  })

const sent = (fake: FakeBotApi) => Effect.map(fake.calls("sendMessage"), (calls) => calls.map((c) => c.params))

describe("business chats", () => {
  it.scoped("answers on the connection; the owner's message pauses the bot until OWNER_TAKEOVER_PAUSE has passed", () =>
    withBot({
      script: turns(
        { stage: "general", synthesize: "Yes, the blue kettle is in stock." },
        { stage: "general", synthesize: "It costs 39 EUR." }
      )
    }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(update("connection"), update("customer"))
        expect(yield* sent(fake)).toEqual([{ chat_id: carl, business_connection_id: "bc-olga", text: "Yes, the blue kettle is in stock." }])
        // The connection was stored from its update: Telegram is not asked.
        expect(yield* fake.calls("getBusinessConnection")).toEqual([])
        expect(Option.isSome(yield* (yield* ConversationState).get("business:bc-olga"))).toBe(true)

        // What the bot sent on the owner's behalf comes back: not answered, no pause.
        yield* deliver(update("botOnOwnersBehalf"))
        // The owner writes: never answered, the bot keeps quiet in this chat for an hour.
        yield* deliver(update("owner"), update("customerWhilePaused"))
        expect(yield* fake.calls("sendMessage")).toHaveLength(1)
        const history = yield* HistoryStore
        expect((yield* history.lastN(carl, 10)).map((m) => [m.role, m.text])).toEqual([
          ["user", "Do you have the blue kettle?"],
          ["assistant", "Yes, the blue kettle is in stock."],
          ["assistant", "Carl, I will call you in five minutes."],
          ["user", "Great, thanks!"]
        ])

        // An hour later the bot answers again; an edited message counts as a corrected one.
        yield* TestClock.adjust(Duration.minutes(61))
        yield* deliver(update("customerEdited"))
        expect((yield* sent(fake)).at(-1)).toEqual({ chat_id: carl, business_connection_id: "bc-olga", text: "It costs 39 EUR." })

        // Deleted business messages are acknowledged, nothing is sent.
        yield* deliver(update("deleted"))
        expect(yield* fake.calls("sendMessage")).toHaveLength(2)
      })))

  it.scoped("OWNER_TAKEOVER_PAUSE=0 never pauses", () =>
    withBot({ dialog: { ownerTakeoverPause: Duration.zero }, script: turns({ stage: "general", synthesize: "You're welcome!" }) }, (fake) =>
      Effect.gen(function*() {
        yield* deliver(update("connection"), update("owner"), update("customerWhilePaused"))
        expect(yield* sent(fake)).toEqual([{ chat_id: carl, business_connection_id: "bc-olga", text: "You're welcome!" }])
      })))

  it.scoped("a disabled connection and one without the right to reply get no answers; an unknown one is asked for", () =>
    withBot({ script: turns({ stage: "general", synthesize: "Hello!" }) }, (fake) =>
      Effect.gen(function*() {
        yield* fake.script("getBusinessConnection", {
          result: {
            id: "bc-new",
            user: { id: 4001, is_bot: false, first_name: "Olga" },
            user_chat_id: 4001,
            date: 1764300000,
            rights: { can_reply: true },
            is_enabled: true
          }
        })
        yield* deliver(update("disabled"), update("noReplyRight"), update("onDisabled"), update("onReadOnly"))
        expect(yield* fake.calls("sendMessage")).toEqual([])
        expect(yield* fake.calls("sendChatAction")).toEqual([])
        // The messages are kept: nothing a customer wrote is lost.
        expect((yield* (yield* HistoryStore).lastN(carl, 10)).map((m) => m.text)).toEqual(["hello?", "anyone there?"])

        yield* deliver(update("onUnknown"))
        expect((yield* fake.calls("getBusinessConnection")).map((c) => c.params)).toEqual([{ business_connection_id: "bc-new" }])
        expect(yield* sent(fake)).toEqual([{ chat_id: carl, business_connection_id: "bc-new", text: "Hello!" }])
      })))
})
