/**
 * A small load through the bot's real webhook server (fake Bot API and model on 127.0.0.1) while
 * a dependency goes away: each chat's updates delivered as Telegram does, then every chat's
 * messages checked to be its updates' own answers, in order, none twice, no apology.
 */
import * as NodeContext from "@effect/platform-node/NodeContext"
import { expect } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Scope } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer, type Stores } from "../../src/runtime/BotLayer.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { defaultProfilePath } from "../../src/testing/index.ts"
import { type FaultPlan, makeFakeBotApi, telegramLayerFor } from "./FakeBotApi.ts"
import { type FakeRequest, makeFakeOpenAi, openAiLayerFor } from "./FakeOpenAi.ts"
import { counterSamples, deliverChats, startWebhookServer } from "../faults/support.ts"

export const users = 8
export const perUser = 3
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

/** The bot over `stores` and the fakes, its webhook under the load of `users` chats; `onThird` once a third are acknowledged. */
export const underLoad = (options: {
  readonly stores: Layer.Layer<Stores, unknown>
  readonly onThird?: () => void
  readonly faultPlan?: FaultPlan
}) =>
  Effect.gen(function*() {
    const openAi = yield* makeFakeOpenAi({ fallback: (request) => ({ delayMs: 5, then: `re: ${lastUser(request)}` }) })
    const botApi = yield* makeFakeBotApi(options.faultPlan === undefined ? {} : { faultPlan: options.faultPlan })
    const bot = botLayer({
      telegram: telegramLayerFor(botApi),
      model: openAiLayerFor(openAi, { maxRetries: 1, backoffBase: Duration.millis(5) }),
      stores: options.stores,
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
    const acks = yield* Effect.promise(() =>
      deliverChats(url, secret, chats, { onAcknowledged: (n) => n === third && options.onThird?.() })
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

