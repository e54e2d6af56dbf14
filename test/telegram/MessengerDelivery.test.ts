import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, FiberStatus, Layer, Logger, Metric, Option } from "effect"
import { CurrentDelivery, CurrentUpdateId, type Delivery, makeDelivery, restartDelivery } from "../../src/domain/CurrentUpdate.ts"
import { StoreError } from "../../src/domain/errors.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { mapStores } from "../../src/store/Instrumented.ts"
import { messagesNotResent } from "../../src/observability/Metrics.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { Messenger, MessengerLive } from "../../src/telegram/Messenger.ts"
import { SendConfig, type SendConfigShape } from "../../src/telegram/SendConfig.ts"
import { StoresMemory } from "../../src/testing/index.ts"
import { type FaultPlan, makeFakeBotApi, realSleep, telegramLayerFor } from "../support/FakeBotApi.ts"

const chat = 42 as TelegramId

describe("Messenger delivery ledger (what a re-run after a crash does not send again)", () => {
  const updateId = 7001 as TelegramId
  const threeParts = [0, 1, 2].map((i) => `Part ${i} ${"x".repeat(3000)}`).join("\n\n")

  /** The messenger over a fake Bot API, its inbox behind `wrapInbox` (e.g. a failing markDelivered). */
  const ledgerOver = (
    options: {
      readonly send?: Partial<SendConfigShape>
      readonly faultPlan?: FaultPlan
      readonly wrapInbox?: (operation: string, effect: Effect.Effect<unknown, unknown, unknown>) => Effect.Effect<unknown, unknown, unknown>
    } = {}
  ) =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi(options.faultPlan === undefined ? {} : { faultPlan: options.faultPlan })
      const stores = Layer.map(StoresMemory, (context) =>
        mapStores(context, (store) => (operation, effect) =>
          store === "inbox" && options.wrapInbox !== undefined ? options.wrapInbox(operation, effect) : effect))
      const context = yield* Layer.build(
        MessengerLive.pipe(
          Layer.provideMerge(
            Layer.mergeAll(telegramLayerFor(fake), stores, SendConfig.make({ backoffBase: Duration.millis(1), ...options.send }))
          )
        )
      )
      const inbox = Context.get(context, Inbox)
      yield* inbox.record({ updateId, chatId: chat, payload: "{}" })
      return { fake, messenger: Context.get(context, Messenger), inbox }
    })

  /** Runs `effect` as the dispatcher runs an update: with its id and delivery cell. */
  const asUpdate = (cell: Delivery, id: TelegramId = updateId) => <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    effect.pipe(Effect.locally(CurrentDelivery, Option.some(cell)), Effect.locally(CurrentUpdateId, Option.some(id)))

  const deliveredOf = (inbox: Inbox["Type"], id: TelegramId = updateId) =>
    Effect.map(inbox.entry(id), Option.map((e) => e.delivered))

  /** Refuses the third part of `threeParts` with a final 400 until `heal` is called. */
  const thirdPartRefused = () => {
    let refusing = true
    const faultPlan: FaultPlan = (call) =>
      refusing && call.method === "sendMessage" && String(call.params["text"]).startsWith("Part 2")
        ? { error: 400, description: "Bad Request: not now" }
        : undefined
    return { faultPlan, heal: () => (refusing = false) }
  }

  /**
   * The message "slow" is answered when `release` is called, the others at once; `sentBeforeRelease`
   * lists the other texts the fake received while "slow" was still unanswered.
   */
  const slowAnswer = () => {
    let release = (): void => undefined
    const released = new Promise<void>((resolve) => (release = resolve))
    let open = true
    void released.then(() => (open = false))
    const sentBeforeRelease: Array<string> = []
    const faultPlan: FaultPlan = (call) => {
      if (call.method !== "sendMessage") return undefined
      if (call.params["text"] !== "slow") {
        if (open) sentBeforeRelease.push(String(call.params["text"]))
        return undefined
      }
      return { until: released, then: { result: { message_id: 1, date: 0, chat: { id: chat, type: "private" }, text: "slow" } } }
    }
    return { faultPlan, release: Effect.sync(() => release()), sentBeforeRelease }
  }

  it.scopedLive("each part is recorded once Telegram accepts it; a re-run sends only the parts not recorded", () =>
    Effect.gen(function*() {
      const third = thirdPartRefused()
      const { fake, inbox, messenger } = yield* ledgerOver({ faultPlan: third.faultPlan })
      const first = makeDelivery(0)
      const error = yield* Effect.flip(messenger.reply(chat, threeParts).pipe(asUpdate(first)))
      expect(error).toMatchObject({ _tag: "TelegramApiError", errorCode: 400 })
      expect(first.sent).toBe(2)
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(2))

      // The next run of the update (after a restart) starts from the count the inbox kept.
      third.heal()
      const notResentBefore = (yield* Metric.value(messagesNotResent)).count
      const again = makeDelivery(2)
      expect(yield* messenger.reply(chat, threeParts).pipe(asUpdate(again))).toBe(3)
      expect(again.sent).toBe(3)
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(3))
      expect((yield* fake.delivered("sendMessage")).map((c) => String(c.params["text"]).slice(0, 6))).toEqual([
        "Part 0",
        "Part 1",
        "Part 2"
      ])
      expect((yield* Metric.value(messagesNotResent)).count - notResentBefore).toBe(2)

      // A second message of the same update (an apology after a partial answer) continues the count.
      expect(yield* messenger.reply(chat, "sorry").pipe(asUpdate(again))).toBe(1)
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(4))
      // Outside a dispatched update nothing is recorded or skipped.
      expect(yield* messenger.reply(chat, "hello")).toBe(1)
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(4))
      expect(yield* fake.delivered("sendMessage")).toHaveLength(5)
    }))

  it.scopedLive("a record that fails is logged, and the message still counts as sent", () =>
    Effect.gen(function*() {
      const { fake, inbox, messenger } = yield* ledgerOver({
        wrapInbox: (operation, effect) =>
          operation === "markDelivered"
            ? Effect.fail(new StoreError({ operation, message: "database unavailable", retryable: true }))
            : effect
      })
      const lines: Array<string> = []
      const capture = Logger.make(({ message }) => lines.push(String(message)))
      const cell = makeDelivery(0)
      const sent = yield* messenger.reply(chat, threeParts).pipe(
        asUpdate(cell),
        Effect.provide(Logger.replace(Logger.defaultLogger, capture))
      )
      expect(sent).toBe(3)
      expect(cell.sent).toBe(3)
      expect(yield* fake.delivered("sendMessage")).toHaveLength(3)
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(0))
      expect(lines.filter((l) => l.includes("sent message not recorded"))).toHaveLength(3)
    }))

  it.scopedLive("a record that hangs ends after its timeout; the send succeeds", () =>
    Effect.gen(function*() {
      const { fake, messenger } = yield* ledgerOver({
        wrapInbox: (operation, effect) => (operation === "markDelivered" ? Effect.never : effect)
      })
      const started = Date.now()
      expect(yield* messenger.reply(chat, "hello").pipe(asUpdate(makeDelivery(0)))).toBe(1)
      const elapsed = Date.now() - started
      expect(elapsed).toBeGreaterThanOrEqual(1_900)
      expect(elapsed).toBeLessThan(10_000)
      expect(yield* fake.delivered("sendMessage")).toHaveLength(1)
    }), 20_000)

  it.scopedLive("interrupting a dialog while its message is being recorded waits for the record", () =>
    Effect.gen(function*() {
      let recording = false
      const { fake, inbox, messenger } = yield* ledgerOver({
        wrapInbox: (operation, effect) =>
          operation === "markDelivered"
            ? Effect.zipRight(Effect.zipRight(Effect.sync(() => (recording = true)), Effect.sleep("300 millis")), effect)
            : effect
      })
      const fiber = yield* Effect.fork(messenger.reply(chat, "hello").pipe(asUpdate(makeDelivery(0))))
      while (!recording) yield* realSleep(5)
      yield* Fiber.interrupt(fiber)
      expect(yield* fake.delivered("sendMessage")).toHaveLength(1)
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(1))
    }))

  it.scopedLive("a second attempt of the update in the same run skips what the first one sent", () =>
    Effect.gen(function*() {
      const third = thirdPartRefused()
      const { fake, inbox, messenger } = yield* ledgerOver({ faultPlan: third.faultPlan })
      const cell = makeDelivery(0)
      yield* Effect.flip(messenger.reply(chat, threeParts).pipe(asUpdate(cell)))
      third.heal()
      restartDelivery(cell)
      expect(yield* messenger.reply(chat, threeParts).pipe(asUpdate(cell))).toBe(3)
      expect(yield* fake.delivered("sendMessage")).toHaveLength(3)
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(3))
    }))

  it.scopedLive("by default one chat's messages are in doubt one at a time, and other chats' sends do not wait", () =>
    Effect.gen(function*() {
      const other = 7002 as TelegramId
      // Each record takes a while; the sends Telegram has seen when it ends are noted.
      const seenAtRecord: Array<number> = []
      let sends: Effect.Effect<number> = Effect.succeed(0)
      const held = slowAnswer()
      const { fake, inbox, messenger } = yield* ledgerOver({
        faultPlan: held.faultPlan,
        wrapInbox: (operation, effect) =>
          operation === "markDelivered"
            ? Effect.zipLeft(effect, Effect.flatMap(Effect.sleep("150 millis"), () => Effect.map(sends, (n) => void seenAtRecord.push(n))))
            : effect
      })
      const ofChat = (id: TelegramId) =>
        Effect.map(fake.calls("sendMessage"), (calls) => calls.filter((c) => c.params["chat_id"] === id).length)
      sends = ofChat(chat)
      yield* inbox.record({ updateId: other, chatId: 43 as TelegramId, payload: "{}" })
      const slow = yield* Effect.fork(messenger.reply(chat, "slow").pipe(asUpdate(makeDelivery(0))))
      yield* fake.waitForCalls("sendMessage", 1)
      // Another chat's update is not held behind the slow send (no global slot).
      expect(yield* messenger.reply(43 as TelegramId, "overlaps").pipe(asUpdate(makeDelivery(0), other))).toBe(1)
      expect(slow.unsafePoll()).toBeNull()
      expect(held.sentBeforeRelease).toEqual(["overlaps"])
      yield* held.release
      expect(yield* Fiber.join(slow)).toBe(1)
      // Within the chat: each part goes out only after the previous one's record is written.
      seenAtRecord.length = 0
      const cell = makeDelivery(0)
      expect(yield* messenger.reply(chat, threeParts).pipe(asUpdate(cell))).toBe(3)
      expect(seenAtRecord).toEqual([2, 3, 4])
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(3))
    }))

  it.scopedLive("with a global cap of one, sends of dispatched updates hold an in-doubt slot each; other sends do not wait for one", () =>
    Effect.gen(function*() {
      const other = 7002 as TelegramId
      const held = slowAnswer()
      const { fake, inbox, messenger } = yield* ledgerOver({
        send: { sendsInDoubt: 1 },
        faultPlan: held.faultPlan
      })
      yield* inbox.record({ updateId: other, chatId: 43 as TelegramId, payload: "{}" })
      const slow = yield* Effect.fork(messenger.reply(chat, "slow").pipe(asUpdate(makeDelivery(0))))
      yield* fake.waitForCalls("sendMessage", 1)
      const queued = yield* Effect.fork(messenger.reply(43 as TelegramId, "queued").pipe(asUpdate(makeDelivery(0), other)))
      while (FiberStatus.isRunning(yield* queued.status)) yield* Effect.yieldNow()
      // A send outside an update (nothing to record) goes at once.
      expect(yield* messenger.reply(44 as TelegramId, "free")).toBe(1)
      yield* held.release
      expect(yield* Fiber.join(slow)).toBe(1)
      expect(yield* Fiber.join(queued)).toBe(1)
      // "queued" waited for the slot "slow" held until Telegram answered it; "free" did not.
      expect(held.sentBeforeRelease).toEqual(["free"])
      expect((yield* fake.calls("sendMessage")).map((c) => c.params["text"])).toEqual(["slow", "free", "queued"])
      expect(yield* deliveredOf(inbox)).toEqual(Option.some(1))
      expect(yield* deliveredOf(inbox, other)).toEqual(Option.some(1))
    }))

  it.scopedLive("with a global cap of two, sends of different updates overlap", () =>
    Effect.gen(function*() {
      const other = 7002 as TelegramId
      const held = slowAnswer()
      const { fake, inbox, messenger } = yield* ledgerOver({
        send: { sendsInDoubt: 2 },
        faultPlan: held.faultPlan
      })
      yield* inbox.record({ updateId: other, chatId: 43 as TelegramId, payload: "{}" })
      const slow = yield* Effect.fork(messenger.reply(chat, "slow").pipe(asUpdate(makeDelivery(0))))
      yield* fake.waitForCalls("sendMessage", 1)
      expect(yield* messenger.reply(43 as TelegramId, "overlaps").pipe(asUpdate(makeDelivery(0), other))).toBe(1)
      expect(slow.unsafePoll()).toBeNull()
      expect(held.sentBeforeRelease).toEqual(["overlaps"])
      yield* held.release
      expect(yield* Fiber.join(slow)).toBe(1)
    }))
})
