import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { type Context, Duration, Effect, Exit, Fiber, Layer } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import type { ConfigurationError } from "../../src/domain/errors.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer, type Stores } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { runPoller } from "../../src/telegram/Poller.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { PollConfig, type PollConfigShape, TelegramConfig } from "../../src/telegram/TelegramConfig.ts"
import { TelegramApiHttp } from "../../src/telegram/TelegramHttp.ts"
import { defaultProfilePath, StoresMemory, textMessage } from "../../src/testing/index.ts"
import { eventually, type FakeBotApi, makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"

/** The whole bot (offline model) over the fake Bot API, on the given stores. */
const pollingBot = <E>(
  telegram: Layer.Layer<TelegramApi, E>,
  stores: Context.Context<Stores>,
  poll: Partial<PollConfigShape> = {}
) =>
  botLayer<E | ConfigurationError, never>({
    telegram,
    model: LanguageModelOffline,
    stores: Layer.succeedContext(stores),
    profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer)),
    dialogConfig: DialogConfig.make(),
    dispatcherConfig: DispatcherConfig.make(),
    sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) })
  }).pipe(
    Layer.provideMerge(
      PollConfig.make({ timeoutSeconds: 1, backoffBase: Duration.millis(10), backoffMax: Duration.millis(50), ...poll })
    )
  )

const offsets = (fake: FakeBotApi) =>
  Effect.map(fake.calls("getUpdates"), (calls) => calls.map((c) => c.params["offset"] ?? null))

describe("long polling", () => {
  it.scopedLive("the offset moves past recorded updates only, and resumes from the inbox after a restart", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const stores = yield* Layer.build(StoresMemory)
      yield* fake.pushUpdates(
        textMessage({ updateId: 101, userId: 1, text: "hello" }),
        textMessage({ updateId: 102, userId: 2, text: "what are your opening hours?" }),
        textMessage({ updateId: 103, userId: 1, text: "thanks" })
      )

      // First run: everything from Telegram's queue, then offset 104.
      yield* Effect.gen(function*() {
        const poller = yield* Effect.forkScoped(runPoller())
        yield* eventually(offsets(fake), (o) => o.includes(104))
        yield* (yield* Dispatcher).awaitIdle
        expect(poller.unsafePoll()).toBeNull()
      }).pipe(Effect.scoped, Effect.provide(pollingBot(telegramLayerFor(fake), stores)))
      expect((yield* offsets(fake))[0]).toBeNull()
      expect((yield* fake.sentTexts(1)).length).toBeGreaterThanOrEqual(2)
      expect((yield* fake.sentTexts(2)).length).toBeGreaterThanOrEqual(1)
      const sentBefore = (yield* fake.sentTexts()).length

      // Telegram redelivers 103 (never confirmed from its side) and has a new one, 104.
      yield* fake.pushUpdates(
        textMessage({ updateId: 103, userId: 1, text: "thanks" }),
        textMessage({ updateId: 104, userId: 2, text: "bye" })
      )
      const callsBefore = (yield* fake.calls("getUpdates")).length
      yield* Effect.gen(function*() {
        yield* Effect.forkScoped(runPoller())
        yield* eventually(offsets(fake), (o) => o.includes(105))
        yield* (yield* Dispatcher).awaitIdle
      }).pipe(Effect.scoped, Effect.provide(pollingBot(telegramLayerFor(fake), stores)))
      // The restart resumed after the inbox's last update_id: 103 was not fetched again.
      expect((yield* offsets(fake))[callsBefore]).toBe(104)
      const sentAfter = yield* fake.sentTexts()
      expect(sentAfter.length).toBeGreaterThan(sentBefore)
      expect(yield* Effect.provide(Effect.flatMap(Inbox, (i) => i.lastUpdateId), stores)).toBe(104)
    }))

  it.scopedLive("an update that is not valid is kept as failed and skipped; the others go through", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const stores = yield* Layer.build(StoresMemory)
      yield* fake.pushUpdates(
        textMessage({ updateId: 201, userId: 5, text: "hello" }),
        "{\"update_id\":202,\"message\":{\"chat\":\"not a chat\"}}",
        textMessage({ updateId: 203, userId: 6, text: "hello" })
      )
      yield* Effect.gen(function*() {
        yield* Effect.forkScoped(runPoller())
        yield* eventually(offsets(fake), (o) => o.includes(204))
        yield* (yield* Dispatcher).awaitIdle
      }).pipe(Effect.scoped, Effect.provide(pollingBot(telegramLayerFor(fake), stores)))
      expect((yield* fake.sentTexts(5)).length).toBeGreaterThan(0)
      expect((yield* fake.sentTexts(6)).length).toBeGreaterThan(0)
      const inbox = yield* Effect.provide(Inbox, stores)
      expect(yield* inbox.pendingCount).toBe(0)
      // 202 is recorded (so never lost) but not pending: recording it again is a duplicate.
      expect(yield* inbox.record({ updateId: 202 as never, payload: "{}" })).toBe("Duplicate")
    }))

  it.scopedLive("server errors back off and polling goes on", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const stores = yield* Layer.build(StoresMemory)
      yield* fake.script(
        "getUpdates",
        { status: 502, body: "<html>Bad Gateway</html>" },
        { error: 500, description: "Internal Server Error" },
        { status: 200, body: "" }
      )
      yield* fake.pushUpdates(textMessage({ updateId: 301, userId: 7, text: "hello" }))
      yield* Effect.gen(function*() {
        yield* Effect.forkScoped(runPoller())
        yield* eventually(offsets(fake), (o) => o.includes(302))
        yield* (yield* Dispatcher).awaitIdle
      }).pipe(Effect.scoped, Effect.provide(pollingBot(telegramLayerFor(fake), stores)))
      expect((yield* offsets(fake)).slice(0, 4)).toEqual([null, null, null, null])
      expect((yield* fake.sentTexts(7)).length).toBeGreaterThan(0)
    }))

  it.scopedLive("a 409 (webhook set) stops the poller with what to do; --drop-webhook deletes it first", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const stores = yield* Layer.build(StoresMemory)
      yield* Effect.gen(function*() {
        yield* (yield* TelegramApi).setWebhook({ url: "https://bot.example.com/telegram/webhook" })
        const error = yield* Effect.flip(runPoller())
        expect(error._tag).toBe("PollingConflict")
        expect(error.message).toContain("webhook is set")
        expect(error.message).toContain("dialog-bot webhook delete")
        expect(error.message).toContain("--drop-webhook")

        const poller = yield* Effect.fork(runPoller({ dropWebhook: true }))
        yield* fake.pushUpdates(textMessage({ updateId: 401, userId: 8, text: "hello" }))
        yield* eventually(offsets(fake), (o) => o.includes(402))
        yield* Fiber.interrupt(poller)
      }).pipe(Effect.provide(pollingBot(telegramLayerFor(fake), stores)))
      expect(yield* fake.webhookUrl).toBe("")
      expect(yield* fake.calls("deleteWebhook")).toHaveLength(1)
    }))

  it.scopedLive("a 409 from another poller and a refused token are final errors", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const stores = yield* Layer.build(StoresMemory)
      yield* fake.script("getUpdates", {
        error: 409,
        description: "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
      })
      const conflict = yield* Effect.flip(runPoller()).pipe(Effect.provide(pollingBot(telegramLayerFor(fake), stores)))
      expect(conflict._tag).toBe("PollingConflict")
      expect(conflict.message).toContain("another process is polling")

      const wrongToken = TelegramApiHttp.pipe(Layer.provide(TelegramConfig.forToken("999:wrong-token", { apiBaseUrl: fake.url })))
      const refused = yield* Effect.flip(runPoller()).pipe(Effect.provide(pollingBot(wrongToken, stores)))
      expect(refused._tag).toBe("PollingRefused")
      expect(refused.message).toContain("TELEGRAM_BOT_TOKEN")
      expect(refused.message).not.toContain("wrong-token")
    }))

  it.scopedLive("interrupting the poller aborts its long poll", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const stores = yield* Layer.build(StoresMemory)
      yield* Effect.gen(function*() {
        const poller = yield* Effect.fork(runPoller())
        yield* fake.waitForCalls("getUpdates", 1)
        const exit = yield* Fiber.interrupt(poller)
        expect(Exit.isInterrupted(exit)).toBe(true)
      }).pipe(Effect.provide(pollingBot(telegramLayerFor(fake), stores, { timeoutSeconds: 30 })))
      yield* eventually(fake.aborted, (n) => n === 1)
      expect(yield* fake.calls("getUpdates")).toHaveLength(1)
    }))
})
