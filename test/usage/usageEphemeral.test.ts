/**
 * `/usage` in a group over real HTTP (the fake Bot API): an ephemeral message only the asker
 * sees where the server knows them; where it refuses them, or ignores the parameter and sends
 * to everyone (that message deleted at once), the usage goes privately with a short note in the
 * group, and the server is not asked again for the rest of the process (one log line).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import { textMessage } from "../../src/testing/index.ts"
import { conversationBot, deliver } from "../support/ConversationBot.ts"
import { type FakeBotApi, type FakeCall, type FakeReply, makeFakeBotApi } from "../support/FakeBotApi.ts"

const group = -1001500000009
const note = "I sent your usage to you in a private message."
const usageOf = (userId: number) => textMessage({ userId, chatId: group, text: "/usage" })
const isEphemeral = (call: FakeCall) => call.method === "sendMessage" && call.params["ephemeral_message_parameters"] !== undefined

/** The Bot API server's answer to an ephemeral message; undefined lets the fake answer as usual. */
type Server = (call: FakeCall) => FakeReply | undefined

/** A 10.2+ server: the ephemeral message answered as Telegram does, `message_id` 0. */
const knowsEphemeral: Server = (call) =>
  isEphemeral(call)
    ? {
      result: {
        message_id: 0,
        ephemeral_message_id: 1,
        from: { id: 123456789, is_bot: true, first_name: "Fake", username: "fake_bot" },
        receiver_user: { id: 7, is_bot: false, first_name: "Test" },
        chat: { id: group, title: "Shop fans", type: "supergroup" },
        date: 1_764_300_000,
        text: call.params["text"]
      }
    }
    : undefined

const refusesEphemeral: Server = (call) =>
  isEphemeral(call) ? { error: 400, description: "Bad Request: unknown parameter ephemeral_message_parameters" } : undefined

/** An older server sends an ordinary message (the fake's usual answer) and lets the bot delete it. */
const ignoresEphemeral: Server = (call) => call.method === "deleteMessage" ? { result: true } : undefined

/** Runs `body` with the bot over a fake Bot API answering as `server`; the log lines written meanwhile. */
const withServer = <A, E, R>(server: Server, body: (fake: FakeBotApi) => Effect.Effect<A, E, R>) => {
  const lines: Array<string> = []
  const collect = Logger.replace(
    Logger.defaultLogger,
    Logger.make(({ message }) => void lines.push(Array.isArray(message) ? message.join(" ") : String(message)))
  )
  return Effect.gen(function*() {
    const fake = yield* makeFakeBotApi({ faultPlan: server })
    const context = yield* Layer.build(conversationBot(fake))
    return yield* body(fake).pipe(Effect.provide(context))
  }).pipe(Effect.provide(collect), Effect.map(() => lines))
}

const sendsTo = (fake: FakeBotApi, chatId: number) =>
  Effect.map(fake.calls("sendMessage"), (calls) => calls.filter((c) => c.params["chat_id"] === chatId && !isEphemeral(c)))

describe("/usage in a group over HTTP", () => {
  it.scoped("the server knows ephemeral messages: one in the group for the asker's eyes, nothing else", () =>
    Effect.gen(function*() {
      yield* withServer(knowsEphemeral, (fake) =>
        Effect.gen(function*() {
          yield* deliver(usageOf(7))
          const calls = yield* fake.calls("sendMessage")
          expect(calls.map((c) => [c.params["chat_id"], c.params["ephemeral_message_parameters"]])).toEqual([
            [group, { receiver_user_id: 7 }]
          ])
          expect(String(calls[0]?.params["text"])).toMatch(/^Your usage\nToday: 0 tokens/)
        }))
    }))

  it.scoped("the server refuses them: a private message and a note in the group; not asked again (one log line)", () =>
    Effect.gen(function*() {
      const lines = yield* withServer(refusesEphemeral, (fake) =>
        Effect.gen(function*() {
          yield* deliver(usageOf(7), usageOf(8))
          expect((yield* fake.calls("sendMessage")).filter(isEphemeral)).toHaveLength(1)
          for (const user of [7, 8]) {
            const [privately] = yield* sendsTo(fake, user)
            expect(String(privately?.params["text"])).toMatch(/^Your usage\n/)
          }
          expect((yield* sendsTo(fake, group)).map((c) => c.params["text"])).toEqual([note, note])
        }))
      expect(lines.filter((line) => line.startsWith("ephemeral messages are off for this process"))).toHaveLength(1)
    }))

  it.scoped("a 400 about that one message (not the parameter): the old way for it alone; the next one is ephemeral", () =>
    Effect.gen(function*() {
      let refused = false
      const once: Server = (call) => {
        if (!isEphemeral(call) || refused) return knowsEphemeral(call)
        refused = true
        return { error: 400, description: "Bad Request: PARTICIPANT_ID_INVALID" }
      }
      const lines = yield* withServer(once, (fake) =>
        Effect.gen(function*() {
          yield* deliver(usageOf(7), usageOf(8))
          expect((yield* fake.calls("sendMessage")).filter(isEphemeral).map((c) => c.params["ephemeral_message_parameters"]))
            .toEqual([{ receiver_user_id: 7 }, { receiver_user_id: 8 }])
          expect((yield* sendsTo(fake, group)).map((c) => c.params["text"])).toEqual([note])
          expect(yield* sendsTo(fake, 7)).toHaveLength(1)
          expect(yield* sendsTo(fake, 8)).toEqual([])
        }))
      expect(lines.filter((line) => line.startsWith("ephemeral messages are off"))).toEqual([])
    }))

  it.scoped("the server ignores the parameter: the message everyone saw is deleted, then the old way, not asked again", () =>
    Effect.gen(function*() {
      const lines = yield* withServer(ignoresEphemeral, (fake) =>
        Effect.gen(function*() {
          yield* deliver(usageOf(7), usageOf(8))
          const sent = yield* fake.calls("sendMessage")
          const ephemeral = sent.filter(isEphemeral)
          expect(ephemeral).toHaveLength(1)
          const deleted = yield* fake.calls("deleteMessage")
          expect(deleted.map((c) => c.params)).toEqual([{ chat_id: group, message_id: expect.any(Number) }])
          expect((yield* sendsTo(fake, group)).map((c) => c.params["text"])).toEqual([note, note])
          expect(yield* sendsTo(fake, 7)).toHaveLength(1)
        }))
      expect(lines.filter((line) => line.startsWith("ephemeral messages are off for this process"))).toHaveLength(1)
    }))
})
