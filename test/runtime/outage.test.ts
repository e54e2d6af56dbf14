/**
 * A store outage (or a Bot API answering 502) of a few seconds under a small load, through the
 * real webhook server: every update gets its real answer (no apology), each chat's answers in
 * order, none twice; the deliveries refused meanwhile are answered 500 and counted by status,
 * not as received.
 * The full-size scenarios are in the fault suite (test/faults).
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"
import { type FakeCall, type FaultPlan, makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"
import { type FakeRequest, makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"
import { counterSamples, deliverChats, makeOutage, type Outage, startWebhookServer, withOutage } from "../faults/support.ts"

const users = 8
const perUser = 3
const secret = "outage-secret"

const updatesOf = (user: number) =>
  Array.from({ length: perUser }, (_, i) => {
    const updateId = 6_000_000 + user * 10 + i
    return {
      update_id: updateId,
      message: {
        message_id: i + 1,
        from: { id: 80_000 + user, is_bot: false, first_name: `User${user}` },
        chat: { id: 80_000 + user, type: "private" },
        date: 1_764_300_000 + i,
        text: `question tok-${updateId}`
      }
    }
  })

const lastUser = (request: FakeRequest) =>
  String([...request.messages].reverse().find((m) => m["role"] === "user")?.["content"] ?? "")

/** The bot over `stores` and the fakes, its webhook under the load of `users` chats; the store outage opened by `onThird`. */
const underLoad = (options: { readonly outage?: Outage; readonly faultPlan?: FaultPlan }) =>
  Effect.gen(function*() {
    const openAi = yield* makeFakeOpenAi({ fallback: (request) => ({ delayMs: 5, then: `re: ${lastUser(request)}` }) })
    const botApi = yield* makeFakeBotApi(options.faultPlan === undefined ? {} : { faultPlan: options.faultPlan })
    const outage = options.outage
    const bot = botLayer({
      telegram: telegramLayerFor(botApi),
      model: openAiLayerFor(openAi, { maxRetries: 1, backoffBase: Duration.millis(5) }),
      stores: outage === undefined ? StoresMemory : withOutage(StoresMemory, outage),
      profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer)),
      dialogConfig: DialogConfig.make(),
      dispatcherConfig: DispatcherConfig.make({ updateDeadline: Duration.seconds(5), shutdownDeadline: Duration.seconds(2) }),
      sendConfig: SendConfig.make({ backoffBase: Duration.millis(5), maxRetries: 2 })
    })
    const before = {
      responses: yield* counterSamples("bot_webhook_responses_total"),
      received: yield* counterSamples("bot_updates_received_total")
    }
    const { dispatcher, scope, url } = yield* startWebhookServer(bot, secret)
    const chats = Array.from({ length: users }, (_, user) => updatesOf(user))
    const third = Math.floor((users * perUser) / 3)
    // The store refuses every call for 3 s once a third of the updates are acknowledged.
    const acks = yield* Effect.promise(() =>
      deliverChats(url, secret, chats, { onAcknowledged: (n) => n === third && outage?.open(0, 3_000) })
    )
    yield* dispatcher.awaitIdle
    yield* Scope.close(scope, Exit.void)
    const after = {
      responses: yield* counterSamples("bot_webhook_responses_total"),
      received: yield* counterSamples("bot_updates_received_total")
    }
    const delta = (samples: "responses" | "received", labels: string) => (after[samples][labels] ?? 0) - (before[samples][labels] ?? 0)
    const delivered = yield* botApi.delivered("sendMessage")
    for (const updates of chats) {
      const chatId = updates[0]!.message.chat.id
      const texts = delivered.filter((c) => c.params["chat_id"] === chatId).map((c) => String(c.params["text"]))
      // Each update's own answer, in the order of the updates, none twice, no apology.
      expect(texts, `chat ${chatId}`).toEqual(updates.map((u) => `re: question tok-${u.update_id}`))
    }
    return { acks, delta }
  })

describe("a dependency outage under load", () => {
  it.scopedLive("the store: every update gets its real answer, in order, none twice; refused deliveries are counted by status", () =>
    Effect.gen(function*() {
      const outage = makeOutage()
      const { acks, delta } = yield* underLoad({ outage })
      expect(outage.refused()).toBeGreaterThan(0)
      const refusedDeliveries = [...acks.values()].reduce((sum, r) => sum + r.attempts - 1, 0)
      expect(refusedDeliveries).toBeGreaterThan(0)
      expect(delta("responses", '{code="200"}')).toBe(users * perUser)
      expect(delta("responses", '{code="500"}')).toBe(refusedDeliveries)
      // Received once each: the refused deliveries are not counted.
      expect(delta("received", '{kind="message"}')).toBe(users * perUser)
    }), 120_000)

  it.scopedLive("the Bot API answering 502 for 2 s: every update gets its real answer, in order, none twice", () =>
    Effect.gen(function*() {
      let failedSends = 0
      let downUntil = 0
      yield* underLoad({
        faultPlan: (call: FakeCall) => {
          if (call.method !== "sendMessage") return undefined
          // The first send opens the outage window.
          if (downUntil === 0) downUntil = call.at + 2_000
          if (call.at >= downUntil) return undefined
          failedSends++
          return { error: 502, description: "Bad Gateway" }
        }
      })
      expect(failedSends).toBeGreaterThan(3)
    }), 120_000)
})
