/**
 * Human handoff with takeover through the fake Bot API (real HTTP), with updates shaped as the
 * Bot API documents them: /human opens a topic per customer in the operators' forum
 * (HANDOFF_CHAT_ID) with a summary and a "Back to bot" button; the customer's messages are
 * copied into the topic and not answered by the model; what operators write there reaches the
 * customer (text as a message, media as a copy); the button or /done gives the chat back and
 * closes the topic. The handoff is in the store: it survives a restart on the same SQLite file.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Metric, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { Handoff, handoffEvents } from "../../src/handoff/Handoff.ts"
import type { HandoffConfigShape } from "../../src/handoff/HandoffConfig.ts"
import { BotProfile } from "../../src/profile/BotProfile.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { modelRequests, turns } from "../../src/testing/index.ts"
import { conversationBot, type ConversationBotOptions, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"

const fixtures = JSON.parse(readFileSync(new URL("../fixtures/handoff.json", import.meta.url), "utf8")) as Record<string, unknown>
const update = (name: string) => fixtures[name]
const guests = JSON.parse(readFileSync(new URL("../fixtures/guest-and-inline.json", import.meta.url), "utf8")) as { readonly guestInGroup: unknown }

const operators = -1001600000001 as TelegramId
const dana = 7001 as TelegramId
const topic = 77
const handoffTo: Partial<HandoffConfigShape> = { handoffChatId: Option.some(operators) }

/** A topic as createForumTopic answers it. */
const forumTopic = (id: number, name: string) => ({ result: { message_thread_id: id, name, icon_color: 7322096 } })

/** The bot against `fake` in a scope of its own (closed when `body` ends: a stop of the process). */
const runBot = <A, E, R>(fake: FakeBotApi, options: ConversationBotOptions, body: Effect.Effect<A, E, R>) =>
  Effect.scoped(Effect.flatMap(Layer.build(conversationBot(fake, options)), (context) => Effect.provide(body, context)))

/** The `bot_handoffs_total` count of each event. */
const handoffCounts = Effect.forEach(
  ["started", "to_topic", "to_customer", "ended"] as const,
  (event) => Effect.map(Metric.value(Metric.tagged(handoffEvents, "event", event)), (state) => state.count)
)

const params = (fake: FakeBotApi, method: string) => Effect.map(fake.calls(method), (calls) => calls.map((c) => c.params))

/** A SQLite file in a fresh directory, removed when the test's scope closes. */
const sqliteFile = Effect.acquireRelease(
  Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-handoff-"))),
  (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
).pipe(Effect.map((dir) => join(dir, "bot.sqlite")))

describe("human handoff with takeover", () => {
  it.scoped("customer → /human → topic → operator → customer → back to the bot, across a restart", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", forumTopic(topic, "Dana Fox · 7001"))
      const stores = StoresSqlite({ path: yield* sqliteFile, busyTimeout: Duration.seconds(5) }).pipe(Layer.orDie)
      const countsBefore = yield* handoffCounts

      // The first process: the customer asks, /human opens the topic, a message is copied into it.
      yield* runBot(fake, { stores, handoff: handoffTo, script: turns({ stage: "delivery", synthesize: "NW-1001 ships today." }) }, Effect.gen(function*() {
        const texts = (yield* BotProfile).texts
        yield* deliver(update("customerHello"), update("customerHuman"))
        expect(yield* params(fake, "createForumTopic")).toEqual([{ chat_id: operators, name: "Dana Fox · 7001" }])
        const sent = yield* params(fake, "sendMessage")
        expect(sent).toHaveLength(3)
        expect(sent[0]).toEqual({ chat_id: dana, text: "NW-1001 ships today." })
        // The topic's first message: who, why, the last messages, and the button.
        expect(sent[1]).toMatchObject({
          chat_id: operators,
          message_thread_id: topic,
          reply_markup: { inline_keyboard: [[{ text: "Back to bot", callback_data: "handoff:done" }]] }
        })
        const summary = String(sent[1]!["text"])
        expect(summary).toContain("Customer: Dana Fox @dana_fox (id 7001)")
        expect(summary).toContain("Reason: asked for a person with /human")
        expect(summary).toContain("Dana Fox: Hi, where is my order NW-1001?\nBot: NW-1001 ships today.")
        expect(sent[2]).toEqual({ chat_id: dana, text: texts.handoffStarted })
        expect((yield* (yield* ClientStore).get(dana)).pipe(Option.map((c) => c.handoffReason))).toEqual(
          Option.some("asked for a person with /human")
        )

        // The topic's creation (the bot's own service message) is ignored; the customer's next
        // message is copied into the topic and the model is not asked.
        yield* deliver(update("topicCreated"), update("customerWhileHandedOff"))
        expect(yield* params(fake, "copyMessage")).toEqual([
          { chat_id: operators, message_thread_id: topic, from_chat_id: dana, message_id: 503 }
        ])
        expect(yield* fake.calls("sendMessage")).toHaveLength(3)
        expect(yield* modelRequests("classify")).toHaveLength(1)
      }))

      // After a restart on the same file the handoff is still there: the operator answers.
      yield* runBot(fake, { stores, handoff: handoffTo, script: turns({ stage: "general", synthesize: "We are open 9 to 18." }) }, Effect.gen(function*() {
        const texts = (yield* BotProfile).texts
        expect(Option.map(yield* (yield* Handoff).records.byTopic(operators, topic), (r) => r.chatId)).toEqual(Option.some(dana))
        yield* deliver(update("operatorText"), update("operatorPhoto"))
        expect((yield* params(fake, "sendMessage")).slice(3)).toEqual([
          {
            chat_id: dana,
            text: "Hello Dana, this is Olga. Which address should we use?",
            entities: [{ type: "bold", offset: 20, length: 4 }]
          }
        ])
        expect((yield* params(fake, "copyMessage")).slice(1)).toEqual([{ chat_id: dana, from_chat_id: operators, message_id: 81 }])

        // The General topic, a topic of no customer and a /done for another bot change nothing.
        yield* deliver(update("operatorInGeneral"), update("operatorInOtherTopic"), update("operatorDoneForOtherBot"))
        expect(yield* fake.calls("sendMessage")).toHaveLength(4)
        expect(yield* fake.calls("copyMessage")).toHaveLength(2)
        expect(Option.isSome(yield* (yield* Handoff).records.get({ chatId: dana }))).toBe(true)

        // "Back to bot": the callback answered, the customer told, the topic closed.
        yield* deliver(update("backToBot"))
        expect(yield* params(fake, "answerCallbackQuery")).toEqual([{ callback_query_id: "4382bfdwdsb323b2d9" }])
        expect((yield* params(fake, "sendMessage")).at(-1)).toEqual({ chat_id: dana, text: texts.handoffEnded })
        expect(yield* params(fake, "closeForumTopic")).toEqual([{ chat_id: operators, message_thread_id: topic }])
        expect(yield* (yield* Handoff).records.get({ chatId: dana })).toEqual(Option.none())
        expect(yield* (yield* Handoff).records.byTopic(operators, topic)).toEqual(Option.none())

        // The model answers the customer again, knowing what the operator said.
        yield* deliver(update("customerAfter"))
        expect((yield* params(fake, "sendMessage")).at(-1)).toEqual({ chat_id: dana, text: "We are open 9 to 18." })
        const asked = (yield* modelRequests("synthesize"))[0]!.messages.map((m) => m.content).join("\n")
        expect(asked).toContain("Hello Dana, this is Olga. Which address should we use?")
        expect(asked).toContain("Are you there? I need to change the delivery address.")
        expect((yield* (yield* HistoryStore).lastN(dana, 10)).map((m) => [m.role, m.text])).toEqual([
          ["user", "Hi, where is my order NW-1001?"],
          ["assistant", "NW-1001 ships today."],
          ["user", "Are you there? I need to change the delivery address."],
          ["assistant", "Hello Dana, this is Olga. Which address should we use?"],
          ["assistant", "Your parcel, packed and ready."],
          ["user", "Thanks! What are your opening hours?"],
          ["assistant", "We are open 9 to 18."]
        ])
      }))
      // bot_handoffs_total: one topic started, one message into it, two to the customer, one handoff ended.
      const countsAfter = yield* handoffCounts
      expect(countsAfter.map((n, i) => n - countsBefore[i]!)).toEqual([1, 1, 2, 1])
    }))
  it.scoped("/done in the topic gives the chat back; /done is not sent to the customer", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", forumTopic(topic, "Dana Fox · 7001"))
      yield* runBot(fake, { handoff: handoffTo, script: turns({ stage: "general", synthesize: "We are open 9 to 18." }) }, Effect.gen(function*() {
        const texts = (yield* BotProfile).texts
        // One by one: the customer's chat and the topic are two conversations, handled in parallel.
        yield* deliver(update("customerHuman"))
        yield* deliver(update("operatorDone"))
        expect(yield* params(fake, "closeForumTopic")).toEqual([{ chat_id: operators, message_thread_id: topic }])
        expect(yield* fake.calls("answerCallbackQuery")).toEqual([])
        expect(yield* fake.sentTexts(dana)).toEqual([texts.handoffStarted, texts.handoffEnded])
        // Nothing to route any more: the button of the closed topic is only answered.
        yield* deliver(update("backToBot"), update("customerAfter"))
        expect(yield* params(fake, "answerCallbackQuery")).toEqual([{ callback_query_id: "4382bfdwdsb323b2d9" }])
        expect(yield* fake.calls("closeForumTopic")).toHaveLength(1)
        expect(yield* fake.sentTexts(dana)).toEqual([texts.handoffStarted, texts.handoffEnded, "We are open 9 to 18."])
      }))
    }))

  // On the real clock: the retry's backoff sleeps.
  it.scopedLive("the tool request_human_handoff hands off: the summary names the reason and the stage", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      // A passing Bot API error is retried as sends are.
      yield* fake.script("createForumTopic", { error: 502, description: "Bad Gateway" }, forumTopic(topic, "Dana Fox · 7001"))
      const script = turns({
        stage: "support",
        think: [{ toolCalls: [{ name: "request_human_handoff", arguments: { reason: "broken kettle, wants a refund" } }] }, "n"],
        synthesize: "I'm sorry about the kettle. A colleague takes over in this chat."
      })
      yield* runBot(fake, { handoff: handoffTo, script }, Effect.gen(function*() {
        yield* deliver(update("customerRefund"))
        expect(yield* fake.calls("createForumTopic")).toHaveLength(2)
        const sent = yield* params(fake, "sendMessage")
        expect(sent.map((p) => [p["chat_id"], p["message_thread_id"]])).toEqual([[operators, topic], [dana, undefined]])
        const summary = String(sent[0]!["text"])
        expect(summary).toContain("Reason: broken kettle, wants a refund\nStage: support")
        expect(summary).toContain("Dana Fox: The kettle arrived broken, I want to talk to a person about a refund.")
        expect(sent[1]!["text"]).toBe("I'm sorry about the kettle. A colleague takes over in this chat.")
        const result = (yield* modelRequests("think"))[1]!.messages.find((m) => m.role === "tool")
        expect(result?.content).toBe(JSON.stringify({ requested: true, handedOff: true }))

        // From now on the customer's messages go to the topic, not to the model.
        yield* deliver(update("customerWhileHandedOff"))
        expect(yield* params(fake, "copyMessage")).toEqual([
          { chat_id: operators, message_thread_id: topic, from_chat_id: dana, message_id: 503 }
        ])
        expect(yield* modelRequests("classify")).toHaveLength(1)
      }))
    }))

  it.scopedLive("a guest asking for a person: the topic is that of their private chat with the bot, where the operator's answer goes", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", forumTopic(topic, "Ann Kovacs · 7001"))
      const script = turns({
        stage: "support",
        think: [{ toolCalls: [{ name: "request_human_handoff", arguments: { reason: "wants a person about an order" } }] }, "n"],
        synthesize: "A colleague will write to you in your private chat with me."
      })
      yield* runBot(fake, { handoff: handoffTo, script }, Effect.gen(function*() {
        // Ann (7001) calls the bot into a group it is not a member of.
        yield* deliver(guests.guestInGroup)
        expect((yield* params(fake, "createForumTopic")).map((p) => p["chat_id"])).toEqual([operators])
        const result = (yield* modelRequests("think"))[1]!.messages.find((m) => m.role === "tool")
        expect(JSON.parse(String(result?.content))).toEqual({
          requested: true,
          handedOff: true,
          colleagueWritesIn: "the user's private chat with the bot"
        })
        expect(yield* fake.calls("answerGuestQuery")).toHaveLength(1)
        // The summary went to the topic; nothing was sent to the group.
        expect((yield* params(fake, "sendMessage")).map((p) => [p["chat_id"], p["message_thread_id"]])).toEqual([[operators, topic]])

        // The operator's answer in the topic reaches Ann's private chat with the bot.
        yield* deliver(update("operatorText"))
        const sent = yield* params(fake, "sendMessage")
        expect(sent).toHaveLength(2)
        expect(sent[1]).toMatchObject({ chat_id: 7001, text: "Hello Dana, this is Olga. Which address should we use?" })
        expect(sent[1]!["message_thread_id"]).toBeUndefined()
      }))
    }))

  it.scoped("a refused createForumTopic falls back to the notice; the customer is answered and the bot goes on", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", { error: 400, description: "Bad Request: the chat is not a forum" })
      yield* runBot(fake, { handoff: handoffTo, script: turns({ stage: "delivery", synthesize: "Send me the new address." }) }, Effect.gen(function*() {
        const texts = (yield* BotProfile).texts
        yield* deliver(update("customerHuman"))
        expect(yield* fake.calls("createForumTopic")).toHaveLength(1)
        // The notice goes to the handoff chat itself (no ADMIN_CHAT_ID), without a topic.
        expect(yield* params(fake, "sendMessage")).toEqual([
          { chat_id: operators, text: "Handoff requested by Dana (id 7001): asked for a person with /human" },
          { chat_id: dana, text: texts.handoffRequested }
        ])
        expect(yield* (yield* Handoff).records.get({ chatId: dana })).toEqual(Option.none())
        yield* deliver(update("customerWhileHandedOff"))
        expect((yield* fake.sentTexts(dana)).at(-1)).toBe("Send me the new address.")
        expect(yield* fake.calls("copyMessage")).toEqual([])
      }))
    }))

  it.scoped("without HANDOFF_CHAT_ID the notice goes to ADMIN_CHAT_ID, a setting of the handoff", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const admin = -1001700000002
      yield* runBot(fake, { handoff: { adminChatId: Option.some(admin) } }, Effect.gen(function*() {
        const texts = (yield* BotProfile).texts
        yield* deliver(update("customerHuman"))
        expect(yield* fake.calls("createForumTopic")).toEqual([])
        expect(yield* params(fake, "sendMessage")).toEqual([
          { chat_id: admin, text: "Handoff requested by Dana (id 7001): asked for a person with /human" },
          { chat_id: dana, text: texts.handoffRequested }
        ])
      }))
    }))

  it.scoped("without HANDOFF_CHAT_ID a handoff is the notice only, as before", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const script = turns(
        {
          stage: "support",
          think: [{ toolCalls: [{ name: "request_human_handoff", arguments: { reason: "refund" } }] }, "n"],
          synthesize: "I've asked a colleague."
        },
        { stage: "delivery", synthesize: "Send me the new address." }
      )
      yield* runBot(fake, { script }, Effect.gen(function*() {
        const texts = (yield* BotProfile).texts
        yield* deliver(update("customerHuman"), update("customerRefund"), update("customerWhileHandedOff"))
        expect(yield* fake.calls("createForumTopic")).toEqual([])
        expect(yield* fake.sentTexts()).toEqual([texts.handoffRequested, "I've asked a colleague.", "Send me the new address."])
        const result = (yield* modelRequests("think"))[1]!.messages.find((m) => m.role === "tool")
        expect(result?.content).toBe(JSON.stringify({ requested: true, adminNotified: false }))
        expect((yield* (yield* ClientStore).get(dana)).pipe(Option.map((c) => c.handoffReason))).toEqual(Option.some("refund"))
      }))
    }))

  it.scoped("business and forum-topic customers: operators' answers keep the connection and the topic", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", forumTopic(90, "Carl · 6101"), forumTopic(91, "Ann Lee · 5001"))
      yield* runBot(fake, { handoff: handoffTo }, Effect.gen(function*() {
        const texts = (yield* BotProfile).texts
        // One by one: each conversation gets the topic scripted for it.
        yield* deliver(update("businessConnection"), update("businessHuman"))
        yield* deliver(update("topicHuman"))
        expect((yield* params(fake, "createForumTopic")).map((p) => p["name"])).toEqual(["Carl · 6101", "Ann Lee · 5001"])
        const toCustomers = (yield* params(fake, "sendMessage")).filter((p) => p["chat_id"] !== operators)
        expect(toCustomers).toEqual([
          { chat_id: 6101, business_connection_id: "bc-north", text: texts.handoffStarted },
          {
            chat_id: -1001500000003,
            message_thread_id: 300,
            text: texts.handoffStarted,
            reply_parameters: { message_id: 311, allow_sending_without_reply: true }
          }
        ])
        const before = (yield* fake.calls("sendMessage")).length

        yield* deliver(update("operatorToBusiness"), update("operatorPhotoToBusiness"), update("operatorToTopic"))
        // The two topics are two conversations handled in parallel: each one's messages in order.
        const after = (yield* params(fake, "sendMessage")).slice(before)
        const ofTopic91 = (p: Record<string, unknown>) => p["chat_id"] === -1001500000003
        expect([...after.filter((p) => !ofTopic91(p)), ...after.filter(ofTopic91)]).toEqual([
          { chat_id: 6101, business_connection_id: "bc-north", text: "Carl, I have corrected the invoice." },
          // copyMessage takes no business connection: the caption goes, the operators are told.
          { chat_id: 6101, business_connection_id: "bc-north", text: "The corrected invoice" },
          {
            chat_id: operators,
            message_thread_id: 90,
            text: texts.handoffNotDelivered.replaceAll("{reason}", "media cannot be copied into a business chat")
          },
          { chat_id: -1001500000003, message_thread_id: 300, text: "Ann, delivery to Lisbon takes three days." }
        ])
        expect(yield* fake.calls("copyMessage")).toEqual([])
      }))
    }))

  it.scoped("starting again reuses the topic (a re-run after a crash); a refused copy reaches the topic as text", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", forumTopic(topic, "Dana Fox · 7001"))
      // The summary's first attempt fails, as when the process stopped right after opening the topic.
      yield* fake.script("sendMessage", { error: 400, description: "Bad Request: not enough rights to send text messages to the chat" })
      yield* runBot(fake, { handoff: handoffTo }, Effect.gen(function*() {
        const handoff = yield* Handoff
        const request = {
          conversation: { chatId: dana },
          userId: dana,
          user: { id: dana, firstName: "Dana", lastName: "Fox", username: "dana_fox" },
          reason: "wants a person",
          updateId: 990002 as TelegramId
        }
        expect(yield* handoff.start(request)).toEqual({ _tag: "Topic", topicId: topic, reused: false, privateChat: false })
        expect(Option.map(yield* handoff.records.get({ chatId: dana }), (r) => r.summarySent)).toEqual(Option.some(false))
        expect(yield* handoff.start(request)).toEqual({ _tag: "Topic", topicId: topic, reused: true, privateChat: false })
        expect(yield* fake.calls("createForumTopic")).toHaveLength(1)
        expect((yield* params(fake, "sendMessage")).map((p) => p["message_thread_id"])).toEqual([topic, topic])
        expect(Option.map(yield* handoff.records.get({ chatId: dana }), (r) => r.summarySent)).toEqual(Option.some(true))

        yield* fake.script("copyMessage", { error: 400, description: "Bad Request: message can't be copied" })
        yield* deliver(update("customerWhileHandedOff"))
        expect((yield* params(fake, "sendMessage")).at(-1)).toEqual({
          chat_id: operators,
          message_thread_id: topic,
          text: "Dana Fox: Are you there? I need to change the delivery address."
        })
      }))
    }))

  it.scoped("a topic that refuses messages (deleted by an operator) gives the chat back: the model answers", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", forumTopic(topic, "Dana Fox · 7001"))
      yield* runBot(fake, { handoff: handoffTo, script: turns({ stage: "delivery", synthesize: "Send me the new address." }) }, Effect.gen(function*() {
        yield* deliver(update("customerHuman"))
        yield* fake.script("copyMessage", { error: 400, description: "Bad Request: message thread not found" })
        yield* fake.script("sendMessage", { error: 400, description: "Bad Request: message thread not found" })
        yield* deliver(update("customerWhileHandedOff"))
        expect(yield* (yield* Handoff).records.get({ chatId: dana })).toEqual(Option.none())
        expect((yield* fake.sentTexts(dana)).at(-1)).toBe("Send me the new address.")
        expect((yield* (yield* HistoryStore).lastN(dana, 10)).map((m) => m.text)).toEqual([
          "Are you there? I need to change the delivery address.",
          "Send me the new address."
        ])
      }))
    }))

  it.scoped("an operator's message the customer cannot get is noted in the topic, not kept as said", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("createForumTopic", forumTopic(topic, "Dana Fox · 7001"))
      yield* runBot(fake, { handoff: handoffTo }, Effect.gen(function*() {
        yield* deliver(update("customerHuman"))
        yield* fake.script("sendMessage", { error: 403, description: "Forbidden: bot was blocked by the user" })
        yield* deliver(update("operatorText"))
        const texts = (yield* BotProfile).texts
        expect((yield* params(fake, "sendMessage")).at(-1)).toEqual({
          chat_id: operators,
          message_thread_id: topic,
          text: texts.handoffNotDelivered.replaceAll("{reason}", "the customer blocked the bot")
        })
        expect(yield* (yield* HistoryStore).lastN(dana, 10)).toEqual([])
        expect(Option.map(yield* (yield* ClientStore).get(dana), (c) => c.blocked)).toEqual(Option.some(true))
      }))
    }))
})
