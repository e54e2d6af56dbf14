/**
 * Recovery from the inbox on PostgreSQL, as on SQLite (`sqlite.test.ts`): the dispatcher of a
 * second lifetime of the layers re-runs what the first left pending, per chat in order, and
 * does not send again what was recorded as delivered. On a database of its own.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, Redacted } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { decodeUpdate } from "../../src/domain/Update.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { TelegramRecorder, TelegramApiRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { answeredUpdate, defaultProfilePath, textMessage } from "../../src/testing/index.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { id } from "./contract.ts"

const server = await postgresForTests("store_recovery")
const stores = StoresPostgres({ url: Redacted.make(server._tag === "Ready" ? server.url : "postgres://127.0.0.1:1/none") })

describe.skipIf(server._tag !== "Ready")(whenReady(server, "recovery from the inbox on PostgreSQL"), () => {
  const bot = botLayer<never, TelegramApi>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model: LanguageModelOffline,
    stores: Layer.orDie(stores),
    profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
    // The supergroup's messages are answered whether or not they mention the bot.
    dialogConfig: DialogConfig.make({ groupMode: "all" }),
    dispatcherConfig: DispatcherConfig.make({ updateDeadline: Duration.seconds(20) }),
    sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) })
  }).pipe(Layer.orDie, Layer.provideMerge(TelegramApiRecorder()))

  it.scoped("the next start re-runs every pending update in per-chat order; what was delivered is not sent again", () =>
    Effect.gen(function*() {
      const anna = 6021488832
      const ben = -1001234567890 // a supergroup
      const updates = [
        textMessage({ updateId: 101, userId: anna, text: "hello" }),
        textMessage({ updateId: 102, userId: anna, text: "How much is delivery?" }),
        textMessage({ updateId: 103, userId: 7, chatId: ben, text: "What are your opening hours?" }),
        textMessage({ updateId: 104, userId: anna, text: "Can I return an item?" }),
        textMessage({ updateId: 105, userId: 7, chatId: ben, text: "Do you ship to Austria?" }),
        textMessage({ updateId: 106, userId: anna, text: "thanks" })
      ]

      // First lifetime: every update recorded; 101 answered, 102's reply stored but not sent,
      // 103's reply sent and recorded as delivered but its entry not marked done.
      yield* Effect.gen(function*() {
        const inbox = yield* Inbox
        const history = yield* HistoryStore
        for (const u of updates) {
          expect(yield* inbox.record({ updateId: id(u.update_id), chatId: id(u.message.chat.id), payload: JSON.stringify(u) })).toBe("New")
        }
        yield* inbox.markDone(id(101))
        yield* history.append({ chatId: id(anna), updateId: id(102), role: "user", text: "How much is delivery?", at: 1 })
        yield* history.append({ chatId: id(anna), updateId: id(102), role: "assistant", text: "Stored reply to 102", at: 2 })
        yield* history.append({ chatId: id(ben), updateId: id(103), role: "user", text: "What are your opening hours?", at: 3 })
        yield* history.append({ chatId: id(ben), updateId: id(103), role: "assistant", text: "Sent reply to 103", at: 4 })
        yield* inbox.markDelivered(id(103), 1)
      }).pipe(Effect.provide(stores))

      // Second lifetime: the dispatcher recovers at start; a new update arrives right away.
      const result = yield* Effect.gen(function*() {
        const dispatcher = yield* Dispatcher
        const fresh = textMessage({ updateId: 107, userId: anna, text: "One more question about delivery" })
        expect(yield* dispatcher.submit({ json: JSON.stringify(fresh), update: yield* decodeUpdate(fresh) })).toBe("New")
        yield* dispatcher.awaitIdle
        const inbox = yield* Inbox
        return {
          sent: yield* (yield* TelegramRecorder).sent,
          pending: yield* inbox.pendingCount,
          statuses: yield* Effect.forEach([101, 102, 103, 104, 105, 106, 107], (n) =>
            Effect.map(inbox.entry(id(n)), Option.map((e) => e.status)))
        }
      }).pipe(Effect.provide(bot))

      const order = (chatId: number) => [...new Set(result.sent.filter((m) => m.chatId === chatId).map(answeredUpdate))]
      expect(order(anna)).toEqual([102, 104, 106, 107])
      expect(order(ben)).toEqual([105])
      expect(result.sent.find((m) => answeredUpdate(m) === 102)?.text).toBe("Stored reply to 102")
      expect(result.sent.some((m) => m.text === "Sent reply to 103")).toBe(false)
      expect(result.pending).toBe(0)
      expect(result.statuses).toEqual(Array.from({ length: 7 }, () => Option.some("done")))
    }), 30_000)
})
