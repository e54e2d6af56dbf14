import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, Layer, Option, TestClock } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig, type SendConfigShape } from "../../src/telegram/SendConfig.ts"
import { decodeUpdate, type TelegramId } from "../../src/domain/Update.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { ClientStore } from "../../src/store/ClientStore.ts"
import { Messenger, MessengerLive } from "../../src/telegram/Messenger.ts"
import type { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { defaultProfilePath, LanguageModelScripted, StoresMemory, TelegramRecorder, TelegramApiRecorder, textMessage } from "../../src/testing/index.ts"
import { eventually, type FaultPlan, makeFakeBotApi, realSleep, telegramLayerFor } from "../support/FakeBotApi.ts"

const chat = 42 as TelegramId

/** The messenger over a Telegram layer, with memory stores; built in the test's scope. */
const messengerOver = <E>(telegram: Layer.Layer<TelegramApi, E>, send: Partial<SendConfigShape> = {}) =>
  Layer.build(
    MessengerLive.pipe(
      Layer.provideMerge(Layer.mergeAll(telegram, StoresMemory, SendConfig.make({ backoffBase: Duration.millis(1), ...send })))
    )
  ).pipe(Effect.map((context) => ({ messenger: Context.get(context, Messenger), clients: Context.get(context, ClientStore) })))

const overHttp = (send: Partial<SendConfigShape> = {}) =>
  Effect.gen(function*() {
    const fake = yield* makeFakeBotApi()
    const { clients, messenger } = yield* messengerOver(telegramLayerFor(fake), send)
    return { fake, messenger, clients }
  })

describe("Messenger over the Bot API", () => {
  it.scoped("a 429 waits its retry_after, then sends again", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp()
      yield* fake.script("sendMessage", { error: 429, description: "Too Many Requests: retry after 3", retryAfter: 3 })
      const fiber = yield* Effect.fork(messenger.reply(chat, "hello"))
      yield* fake.waitForCalls("sendMessage", 1)
      yield* eventually(TestClock.sleeps(), (sleeps) => sleeps.length === 1)
      yield* TestClock.adjust("2999 millis")
      expect(yield* fake.calls("sendMessage")).toHaveLength(1)
      yield* TestClock.adjust("1 millis")
      expect(yield* Fiber.join(fiber)).toBe(1)
      expect(yield* fake.sentTexts()).toEqual(["hello", "hello"])
    }))

  it.scoped("a retry_after above the cap is not waited for", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp({ retryAfterCap: Duration.seconds(10) })
      yield* fake.script("sendMessage", { error: 429, description: "Too Many Requests: retry after 60", retryAfter: 60 })
      const error = yield* Effect.flip(messenger.reply(chat, "hello"))
      expect(error).toMatchObject({ _tag: "TelegramApiError", errorCode: 429, retryAfter: 60 })
      expect(yield* fake.calls("sendMessage")).toHaveLength(1)
    }))

  it.scopedLive("5xx answers and broken bodies back off and retry; the retries are bounded", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp({ maxRetries: 2 })
      yield* fake.script(
        "sendMessage",
        { status: 502, body: "<html>Bad Gateway</html>" },
        { error: 500, description: "Internal Server Error" }
      )
      expect(yield* messenger.reply(chat, "first")).toBe(1)
      expect(yield* fake.sentTexts()).toEqual(["first", "first", "first"])

      yield* fake.script(
        "sendMessage",
        { status: 500, body: "" },
        { status: 500, body: "" },
        { status: 500, body: "" }
      )
      const error = yield* Effect.flip(messenger.reply(chat, "second"))
      expect(error).toMatchObject({ _tag: "TelegramTransportError", status: 500 })
      expect(yield* fake.sentTexts()).toHaveLength(6)
    }))

  it.scoped("the backoff after a 5xx grows exponentially", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp({ backoffBase: Duration.seconds(1), maxRetries: 3 })
      yield* fake.script(
        "sendMessage",
        { error: 500, description: "Internal Server Error" },
        { error: 500, description: "Internal Server Error" }
      )
      const fiber = yield* Effect.fork(messenger.reply(chat, "x"))
      const delays: Array<number> = []
      for (let attempt = 1; attempt <= 2; attempt++) {
        yield* fake.waitForCalls("sendMessage", attempt)
        // The backoff's sleep (the requests' 15 s timeouts are sleeps too: they are left out).
        const now = yield* TestClock.currentTimeMillis
        const backoffs = yield* eventually(
          Effect.map(TestClock.sleeps(), (sleeps) => [...sleeps].map((wake) => wake - now).filter((d) => d > 0 && d < 10_000)),
          (pending) => pending.length === 1
        )
        delays.push(backoffs[0]!)
        yield* TestClock.adjust(Duration.millis(backoffs[0]!))
      }
      expect(yield* Fiber.join(fiber)).toBe(1)
      // Jittered around 1 s, then around 2 s.
      expect(delays[0]).toBeGreaterThanOrEqual(800)
      expect(delays[0]).toBeLessThanOrEqual(1200)
      expect(delays[1]).toBeGreaterThanOrEqual(1600)
      expect(delays[1]).toBeLessThanOrEqual(2400)
    }))

  it.scopedLive("other 4xx answers are final", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp()
      yield* fake.script("sendMessage", { error: 400, description: "Bad Request: chat not found" })
      const error = yield* Effect.flip(messenger.reply(chat, "hello"))
      expect(error).toMatchObject({ _tag: "TelegramApiError", errorCode: 400 })
      expect(yield* fake.calls("sendMessage")).toHaveLength(1)
    }))

  it.scopedLive("a 403 marks the client blocked: no retries and no more sends", () =>
    Effect.gen(function*() {
      const { clients, fake, messenger } = yield* overHttp()
      yield* clients.getOrCreate({ id: chat, firstName: "Ann" })
      yield* fake.script("sendMessage", { error: 403, description: "Forbidden: bot was blocked by the user" })
      const error = yield* Effect.flip(messenger.reply(chat, "hello"))
      expect(error).toMatchObject({ _tag: "RecipientBlocked", chatId: 42 })
      expect(Option.map(yield* clients.get(chat), (c) => c.blocked)).toEqual(Option.some(true))
      const again = yield* Effect.flip(messenger.reply(chat, "anyone there?"))
      expect(again._tag).toBe("RecipientBlocked")
      expect(yield* fake.calls("sendMessage")).toHaveLength(1)
    }))

  it.scopedLive("formatted text Telegram cannot parse is sent again as plain text", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp()
      yield* fake.script("sendMessage", {
        error: 400,
        description: "Bad Request: can't parse entities: Can't find end of the entity starting at byte offset 4"
      })
      expect(yield* messenger.reply(chat, "see *this", { parseMode: "MarkdownV2" })).toBe(1)
      const calls = yield* fake.calls("sendMessage")
      expect(calls.map((c) => c.params)).toEqual([
        { chat_id: 42, text: "see *this", parse_mode: "MarkdownV2" },
        { chat_id: 42, text: "see *this" }
      ])
    }))

  it.scopedLive("a chat migrated to a supergroup gets the message at its new id", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp()
      yield* fake.script("sendMessage", {
        error: 400,
        description: "Bad Request: group chat was upgraded to a supergroup chat",
        migrateToChatId: -100777
      })
      expect(yield* messenger.reply(-5 as TelegramId, "hi group")).toBe(1)
      expect((yield* fake.calls("sendMessage")).map((c) => c.params["chat_id"])).toEqual([-5, -100777])
    }))

  it.scopedLive("a long reply goes out in parts, in order, each within 4096 UTF-16 units", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp()
      const text = Array.from({ length: 30 }, (_, i) => `Part ${i} 🎉 ${"données 数据 ".repeat(40)}`).join("\n\n")
      const parts = yield* messenger.reply(chat, text)
      const sent = yield* fake.sentTexts(42)
      expect(sent).toHaveLength(parts)
      expect(parts).toBeGreaterThan(2)
      expect(sent.every((t) => t.length <= 4096)).toBe(true)
      expect(sent.join("").replace(/\s+/g, "")).toBe(text.replace(/\s+/g, ""))
    }))
})

describe("Messenger throttle and typing", () => {
  const recorded = (send: Partial<SendConfigShape>) =>
    Effect.gen(function*() {
      const context = yield* Layer.build(
        MessengerLive.pipe(
          Layer.provideMerge(Layer.mergeAll(TelegramApiRecorder(), StoresMemory, SendConfig.make(send)))
        )
      )
      return { messenger: Context.get(context, Messenger), recorder: Context.get(context, TelegramRecorder) }
    })
  const sentCount = (recorder: TelegramRecorder["Type"]) => Effect.map(recorder.sent, (s) => s.length)
  const settle = Effect.repeatN(Effect.yieldNow(), 50)

  it.scoped("about one message a second per chat after a burst of three", () =>
    Effect.gen(function*() {
      const { messenger, recorder } = yield* recorded({ throttle: true })
      const fibers = yield* Effect.forEach([1, 2, 3, 4, 5], (i) => Effect.fork(messenger.reply(chat, `m${i}`)))
      yield* settle
      expect(yield* sentCount(recorder)).toBe(3)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* sentCount(recorder)).toBe(4)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* sentCount(recorder)).toBe(5)
      yield* Fiber.joinAll(fibers)
    }))

  it.scoped("about thirty messages a second overall", () =>
    Effect.gen(function*() {
      const { messenger, recorder } = yield* recorded({ throttle: true })
      const fibers = yield* Effect.forEach(
        Array.from({ length: 35 }, (_, i) => i + 1),
        (id) => Effect.fork(messenger.reply(id as TelegramId, "hi"))
      )
      yield* settle
      expect(yield* sentCount(recorder)).toBe(30)
      yield* TestClock.adjust("1 second")
      yield* settle
      expect(yield* sentCount(recorder)).toBe(35)
      yield* Fiber.joinAll(fibers)
    }))

  it.scoped("no throttle by default", () =>
    Effect.gen(function*() {
      const { messenger, recorder } = yield* recorded({})
      yield* Effect.forEach([1, 2, 3, 4, 5, 6], (i) => messenger.reply(chat, `m${i}`))
      expect(yield* sentCount(recorder)).toBe(6)
    }))

  it.scoped("typing is shown once a dialog has run a second and refreshed every 4.5 s until it ends", () =>
    Effect.gen(function*() {
      const { messenger, recorder } = yield* recorded({})
      const typings = Effect.map(recorder.calls, (calls) => calls.filter((c) => c.method === "sendChatAction").length)
      const fiber = yield* Effect.fork(messenger.whileTyping(chat, Effect.as(Effect.sleep("12 seconds"), "answer")))
      yield* settle
      expect(yield* typings).toBe(0)
      yield* TestClock.adjust("999 millis")
      yield* settle
      expect(yield* typings).toBe(0)
      yield* TestClock.adjust("1 millis")
      yield* settle
      expect(yield* typings).toBe(1)
      yield* TestClock.adjust("4500 millis")
      yield* settle
      expect(yield* typings).toBe(2)
      yield* TestClock.adjust("4500 millis")
      yield* settle
      expect(yield* typings).toBe(3)
      yield* TestClock.adjust("2 seconds")
      expect(yield* Fiber.join(fiber)).toBe("answer")
      yield* TestClock.adjust("20 seconds")
      yield* settle
      expect(yield* typings).toBe(3)
    }))

  it.scoped("an answer within the delay shows no typing; a delay of 0 shows it at once", () =>
    Effect.gen(function*() {
      const { messenger, recorder } = yield* recorded({})
      const typings = Effect.map(recorder.calls, (calls) => calls.filter((c) => c.method === "sendChatAction").length)
      const quick = yield* Effect.fork(messenger.whileTyping(chat, Effect.as(Effect.sleep("900 millis"), "quick")))
      yield* TestClock.adjust("900 millis")
      expect(yield* Fiber.join(quick)).toBe("quick")
      yield* TestClock.adjust("20 seconds")
      yield* settle
      expect(yield* typings).toBe(0)

      const atOnce = yield* recorded({ typingDelay: Duration.zero })
      const fiber = yield* Effect.fork(atOnce.messenger.whileTyping(chat, Effect.as(Effect.sleep("1 second"), "answer")))
      yield* settle
      expect((yield* atOnce.recorder.calls).filter((c) => c.method === "sendChatAction")).toHaveLength(1)
      yield* TestClock.adjust("1 second")
      expect(yield* Fiber.join(fiber)).toBe("answer")
    }))

  it.scopedLive("a failing typing indicator never fails the dialog", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* overHttp({ typingDelay: Duration.zero })
      yield* fake.script("sendChatAction", { status: 500, body: "<html>oops</html>" })
      expect(yield* messenger.whileTyping(chat, Effect.as(Effect.sleep("50 millis"), "answer"))).toBe("answer")
      expect(yield* fake.calls("sendChatAction")).toHaveLength(1)
    }))
})

describe("blocked users through the whole bot", () => {
  it.scopedLive("a 403 blocks the client; a `member` my_chat_member lets messages through again", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const context = yield* Layer.build(
        botLayer({
          telegram: telegramLayerFor(fake),
          model: LanguageModelScripted({ classify: ["general"], think: ["ok"], synthesize: ["Hello Ann"] }),
          stores: StoresMemory,
          profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer)),
          dialogConfig: DialogConfig.make(),
          dispatcherConfig: DispatcherConfig.make(),
          sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) })
        })
      )
      const dispatcher = Context.get(context, Dispatcher)
      const messenger = Context.get(context, Messenger)
      const clients = Context.get(context, ClientStore)
      const submit = (update: unknown) =>
        Effect.gen(function*() {
          yield* dispatcher.submit({ json: JSON.stringify(update), update: yield* decodeUpdate(update) })
          yield* dispatcher.awaitIdle
        })

      yield* fake.script("sendMessage", { error: 403, description: "Forbidden: bot was blocked by the user" })
      yield* submit(textMessage({ userId: 42, text: "hello", updateId: 1 }))
      expect(Option.map(yield* clients.get(chat), (c) => c.blocked)).toEqual(Option.some(true))
      expect(yield* fake.calls("sendMessage")).toHaveLength(1)
      expect((yield* Effect.flip(messenger.reply(chat, "news")))._tag).toBe("RecipientBlocked")
      expect(yield* fake.calls("sendMessage")).toHaveLength(1)

      const membership = (status: string, updateId: number) => ({
        update_id: updateId,
        my_chat_member: {
          chat: { id: 42, type: "private" },
          from: { id: 42, is_bot: false, first_name: "Ann" },
          date: 1_764_300_000,
          old_chat_member: { user: { id: 1, is_bot: true, first_name: "Bot" }, status: "kicked" },
          new_chat_member: { user: { id: 1, is_bot: true, first_name: "Bot" }, status }
        }
      })
      yield* submit(membership("member", 2))
      expect(Option.map(yield* clients.get(chat), (c) => c.blocked)).toEqual(Option.some(false))
      expect(yield* messenger.reply(chat, "news")).toBe(1)
      expect(yield* fake.sentTexts(42)).toEqual(["Hello Ann", "news"])
    }))
})
