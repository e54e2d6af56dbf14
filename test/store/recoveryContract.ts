/**
 * Recovery from the inbox, part of the store contract for every store that outlives its
 * process (SQLite, PostgreSQL): the dispatcher of a second lifetime of the layers re-runs what
 * the first left pending, per chat in order and before new updates, and does not send again
 * what was recorded as delivered. Each run is on a database of its own (it counts what is
 * pending in the whole inbox).
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Layer, Option, type Scope } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import type { StoreError } from "../../src/domain/errors.ts"
import { decodeUpdate } from "../../src/domain/Update.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer, type Stores } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { TelegramApiRecorder, TelegramRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { answeredUpdate, defaultProfilePath, textMessage } from "../../src/testing/index.ts"
import { type ContractOptions, id } from "./contract.ts"

/** The whole bot over `stores`, its messages recorded instead of sent. */
const botOver = (stores: Layer.Layer<Stores, StoreError>) =>
  botLayer<never, TelegramApi>({
    telegram: Layer.effect(TelegramApi, TelegramApi),
    model: LanguageModelOffline,
    stores: Layer.orDie(stores),
    profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
    // The supergroup's messages are answered whether or not they mention the bot.
    dialogConfig: DialogConfig.make({ groupMode: "all" }),
    dispatcherConfig: DispatcherConfig.make({ updateDeadline: Duration.seconds(20) }),
    sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) })
  }).pipe(Layer.orDie, Layer.provideMerge(TelegramApiRecorder()))

/**
 * `database` gives the store layer of a fresh database (each use of the layer is one lifetime:
 * it opens the database and closes it at the end).
 */
export const recoveryContract = (
  name: string,
  database: Effect.Effect<Layer.Layer<Stores, StoreError>, never, Scope.Scope>,
  options: ContractOptions = {}
) =>
  describe.skipIf(options.skip !== undefined)(
    options.skip === undefined ? `recovery from the inbox on ${name}` : `recovery from the inbox on ${name} (skipped: ${options.skip})`,
    () => {
    it.scoped("the next start re-runs every pending update in per-chat order, before new updates; what was delivered is not sent again", () =>
      Effect.gen(function*() {
        const stores = yield* database
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

        // First lifetime: every update acknowledged (recorded), then the process "dies": 101 was
        // answered, 102's reply was composed and stored but not sent, 103's reply was sent and
        // recorded as delivered but its entry not yet marked done, the rest never started.
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
        }).pipe(Effect.provide(botOver(stores)))

        const order = (chatId: number) => [...new Set(result.sent.filter((m) => m.chatId === chatId).map(answeredUpdate))]
        expect(order(anna)).toEqual([102, 104, 106, 107])
        // 103's reply reached the user before the crash: its re-run does not send it again.
        expect(order(ben)).toEqual([105])
        expect(result.sent.find((m) => answeredUpdate(m) === 102)?.text).toBe("Stored reply to 102")
        expect(result.sent.some((m) => m.text === "Sent reply to 103")).toBe(false)
        expect(result.pending).toBe(0)
        expect(result.statuses).toEqual(Array.from({ length: 7 }, () => Option.some("done")))
      }), 30_000)
  })
