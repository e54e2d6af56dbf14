/**
 * Quick successive messages (`MERGE_WINDOW`): a conversation's first text message waits the
 * window, the same sender's text messages that arrive meanwhile join its turn, and the turn's
 * last update owns the one reply; the others are marked done as merged into it. With the
 * window at 0 nothing waits. Recovery after a stopped runtime (SQLite, two lifetimes) answers
 * every message once in total.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Duration, Effect, Exit, Fiber, Layer, Metric, Option, Scope, TestClock } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { mergedNote } from "../../src/domain/MergedTurn.ts"
import { decodeUpdate, type TelegramId } from "../../src/domain/Update.ts"
import type { CompletionRequest } from "../../src/llm/LanguageModel.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelScripted, type Script, ScriptedModel } from "../../src/llm/ScriptedModel.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { DispatcherConfig, type DispatcherConfigShape } from "../../src/runtime/DispatcherConfig.ts"
import { mergeableMessage, updatesMerged } from "../../src/runtime/TurnMerge.ts"
import { HistoryStore } from "../../src/store/HistoryStore.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { TelegramApiRecorder, TelegramRecorder } from "../../src/telegram/TelegramRecorder.ts"
import { answeredUpdate, defaultProfilePath, modelRequests, testBot, textMessage } from "../../src/testing/index.ts"
import { conversationBot } from "../support/ConversationBot.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"
import { eventually } from "../support/realTime.ts"

const mergeWindow = Duration.millis(1500)
const id = (n: number) => n as TelegramId

const lastUserText = (request: CompletionRequest) =>
  [...request.messages].reverse().find((m) => m.role === "user")?.content ?? ""

/** Each turn classified `general`, its answer echoes what the model was asked. */
const echo = (turns: number, synthesizeDelay?: Duration.DurationInput): Script => ({
  classify: Array.from({ length: turns }, () => "general"),
  think: Array.from({ length: turns }, () => ""),
  synthesize: Array.from({ length: turns }, () =>
    synthesizeDelay === undefined
      ? (request: CompletionRequest) => `re: ${lastUserText(request)}`
      : { delay: synthesizeDelay, then: (request: CompletionRequest) => `re: ${lastUserText(request)}` })
})

/** Hands updates to the dispatcher as the webhook would, without waiting for them to run. */
const submitAll = (updates: ReadonlyArray<unknown>) =>
  Effect.gen(function*() {
    const dispatcher = yield* Dispatcher
    for (const raw of updates) {
      const json = JSON.stringify(raw)
      expect(yield* dispatcher.submit({ json, update: yield* decodeUpdate(JSON.parse(json)) })).toBe("New")
    }
  })

const awaitIdle = Effect.flatMap(Dispatcher, (d) => d.awaitIdle)
const sentTexts = Effect.flatMap(TelegramRecorder, (r) => r.sent).pipe(Effect.map((s) => s.map((m) => m.text)))
const entries = (ids: ReadonlyArray<number>) =>
  Effect.flatMap(Inbox, (inbox) =>
    Effect.forEach(ids, (n) => Effect.map(inbox.entry(id(n)), Option.map((e) => ({ status: e.status, note: e.error })))))

describe("quick successive messages", () => {
  it.scoped("three messages within the window are one turn: the model sees all three, one reply, all three done", () =>
    Effect.gen(function*() {
      const mergedBefore = (yield* Metric.value(updatesMerged)).count
      yield* submitAll([
        textMessage({ updateId: 5001, userId: 11, text: "hi" }),
        textMessage({ updateId: 5002, userId: 11, text: "I ordered a kettle" }),
        textMessage({ updateId: 5003, userId: 11, text: "when does it arrive?" })
      ])
      yield* TestClock.adjust("1 second")
      expect(yield* modelRequests()).toEqual([])
      yield* TestClock.adjust("500 millis")
      yield* awaitIdle

      const sent = yield* (yield* TelegramRecorder).sent
      expect(sent.map((m) => [answeredUpdate(m), m.text])).toEqual([[5003, "re: hi\nI ordered a kettle\nwhen does it arrive?"]])
      expect(yield* modelRequests("classify")).toHaveLength(1)
      expect((yield* Metric.value(updatesMerged)).count - mergedBefore).toBe(2)
      expect(yield* entries([5001, 5002, 5003])).toEqual([
        Option.some({ status: "done", note: mergedNote(id(5003)) }),
        Option.some({ status: "done", note: mergedNote(id(5003)) }),
        Option.some({ status: "done", note: undefined })
      ])
      const history = yield* (yield* HistoryStore).lastN(id(11), 10)
      expect(history.map((m) => [m.updateId, m.role, m.text])).toEqual([
        [5001, "user", "hi"],
        [5002, "user", "I ordered a kettle"],
        [5003, "user", "when does it arrive?"],
        [5003, "assistant", "re: hi\nI ordered a kettle\nwhen does it arrive?"]
      ])
    }).pipe(Effect.provide(testBot({ script: echo(1), dispatcher: { mergeWindow } }))))

  it.scoped("a message after the window, and messages that arrive while the turn runs, are turns of their own", () =>
    Effect.gen(function*() {
      yield* submitAll([textMessage({ userId: 12, text: "a" }), textMessage({ userId: 12, text: "b" })])
      yield* TestClock.adjust(mergeWindow)
      yield* eventually(modelRequests("synthesize"), (r) => r.length === 1)
      // The turn of a and b is running (its answer takes 5 s): c and d wait, each for a turn of its own.
      yield* submitAll([textMessage({ userId: 12, text: "c" }), textMessage({ userId: 12, text: "d" })])
      yield* TestClock.adjust("5 seconds")
      yield* eventually(modelRequests("synthesize"), (r) => r.length === 2)
      yield* TestClock.adjust("5 seconds")
      yield* eventually(modelRequests("synthesize"), (r) => r.length === 3)
      yield* TestClock.adjust("5 seconds")
      yield* awaitIdle
      expect(yield* sentTexts).toEqual(["re: a\nb", "re: c", "re: d"])

      // Later, after the window: e opens a window of its own.
      yield* submitAll([textMessage({ userId: 12, text: "e" })])
      yield* TestClock.adjust(mergeWindow)
      yield* eventually(modelRequests("synthesize"), (r) => r.length === 4)
      yield* TestClock.adjust("5 seconds")
      yield* awaitIdle
      expect(yield* sentTexts).toEqual(["re: a\nb", "re: c", "re: d", "re: e"])
    }).pipe(Effect.provide(testBot({ script: echo(4, "5 seconds"), dispatcher: { mergeWindow } }))))

  it.scoped("MERGE_WINDOW=0: three messages, three replies, nothing waits", () =>
    Effect.gen(function*() {
      yield* submitAll([
        textMessage({ updateId: 5101, userId: 13, text: "one" }),
        textMessage({ updateId: 5102, userId: 13, text: "two" }),
        textMessage({ updateId: 5103, userId: 13, text: "three" })
      ])
      // No clock adjusted: with the window off the turns start at once.
      yield* awaitIdle
      const sent = yield* (yield* TelegramRecorder).sent
      expect(sent.map((m) => [answeredUpdate(m), m.text])).toEqual([[5101, "re: one"], [5102, "re: two"], [5103, "re: three"]])
      expect((yield* entries([5101, 5102, 5103])).map(Option.map((e) => e.note))).toEqual([
        Option.some(undefined),
        Option.some(undefined),
        Option.some(undefined)
      ])
    }).pipe(Effect.provide(testBot({ script: echo(3) }))))

  it.scoped("a command within the window is not merged: it ends the turn and runs on its own, and so does what follows", () =>
    Effect.gen(function*() {
      yield* submitAll([
        textMessage({ updateId: 5201, userId: 14, text: "hello" }),
        textMessage({ updateId: 5202, userId: 14, text: "there" }),
        textMessage({ updateId: 5203, userId: 14, text: "/help" }),
        textMessage({ updateId: 5204, userId: 14, text: "thanks" })
      ])
      yield* TestClock.adjust(mergeWindow)
      yield* awaitIdle
      const sent = yield* (yield* TelegramRecorder).sent
      expect(sent.map(answeredUpdate)).toEqual([5202, 5203, 5204])
      expect(sent[0]?.text).toBe("re: hello\nthere")
      expect(sent[1]?.text).toMatch(/^I can answer questio/)
      expect(sent[2]?.text).toBe("re: thanks")
      expect((yield* entries([5201, 5202, 5203, 5204])).map(Option.map((e) => e.status))).toEqual(
        Array.from({ length: 4 }, () => Option.some("done"))
      )
    }).pipe(Effect.provide(testBot({ script: echo(2), dispatcher: { mergeWindow } }))))

  it.scoped("a merged turn that fails: one apology to the last message, every update of the turn marked failed", () =>
    Effect.gen(function*() {
      yield* submitAll([
        textMessage({ updateId: 5601, userId: 32, text: "are you" }),
        textMessage({ updateId: 5602, userId: 32, text: "there?" })
      ])
      yield* TestClock.adjust(mergeWindow)
      yield* eventually(modelRequests("classify"), (r) => r.length === 1)
      yield* TestClock.adjust("5 seconds")
      yield* awaitIdle
      const sent = yield* (yield* TelegramRecorder).sent
      expect(sent.map(answeredUpdate)).toEqual([5602])
      expect(sent[0]?.text).toMatch(/^Sorry, something went wrong/)
      expect(yield* entries([5601, 5602])).toEqual([
        Option.some({ status: "failed", note: `${mergedNote(id(5602))}: deadline exceeded` }),
        Option.some({ status: "failed", note: "deadline exceeded" })
      ])
    }).pipe(Effect.provide(testBot({
      script: { classify: [{ delay: "1 minute", then: "general" }] },
      dispatcher: { mergeWindow, updateDeadline: Duration.seconds(5) }
    }))))

  it.scoped("a merged turn of a handed-off customer: each of its messages is copied into the operators' topic, the model is not asked", () =>
    Effect.gen(function*() {
      const recorder = yield* TelegramRecorder
      yield* submitAll([textMessage({ updateId: 5101, userId: 14, text: "/human" })])
      yield* awaitIdle
      const [opened] = yield* Effect.map(recorder.calls, (calls) => calls.filter((c) => c.method === "createForumTopic"))
      expect(opened?.params["chat_id"]).toBe(-1001700000001)
      yield* submitAll([
        textMessage({ updateId: 5102, userId: 14, text: "are you there?" }),
        textMessage({ updateId: 5103, userId: 14, text: "I need to change the address" })
      ])
      yield* TestClock.adjust(mergeWindow)
      yield* awaitIdle
      const copies = yield* Effect.map(recorder.calls, (calls) => calls.filter((c) => c.method === "copyMessage").map((c) => c.params))
      expect(copies.map((c) => [c["chat_id"], c["from_chat_id"]])).toEqual([[-1001700000001, 14], [-1001700000001, 14]])
      expect(copies.map((c) => c["message_id"])).toHaveLength(2)
      expect(new Set(copies.map((c) => c["message_id"])).size).toBe(2)
      expect(yield* modelRequests()).toEqual([])
      expect(yield* entries([5102, 5103])).toEqual([
        Option.some({ status: "done", note: mergedNote(id(5103)) }),
        Option.some({ status: "done", note: undefined })
      ])
    }).pipe(Effect.provide(testBot({
      script: echo(0),
      dispatcher: { mergeWindow },
      handoff: { handoffChatId: Option.some(-1001700000001 as TelegramId) }
    }))))
})

describe("what may be merged", () => {
  const decoded = (raw: unknown) => Effect.runSync(decodeUpdate(raw))
  const message = textMessage({ userId: 31, text: "hello" }).message

  it("a user's plain text message; not a command, an empty text, a caption, an edit, a business message or a bot's message", () => {
    expect(Option.isSome(mergeableMessage(decoded({ update_id: 1, message })))).toBe(true)
    expect(Option.isSome(mergeableMessage(decoded({ update_id: 2, message: { ...message, text: "/start" } })))).toBe(false)
    expect(Option.isSome(mergeableMessage(decoded({ update_id: 3, message: { ...message, text: "  " } })))).toBe(false)
    const { text: _text, ...withoutText } = message
    const photo = { ...withoutText, caption: "look", photo: [{ file_id: "p", file_unique_id: "u", width: 90, height: 90 }] }
    expect(Option.isSome(mergeableMessage(decoded({ update_id: 4, message: photo })))).toBe(false)
    expect(Option.isSome(mergeableMessage(decoded({ update_id: 5, edited_message: { ...message, edit_date: 1_764_300_001 } })))).toBe(false)
    expect(Option.isSome(mergeableMessage(decoded({ update_id: 6, business_message: { ...message, business_connection_id: "bc1" } })))).toBe(false)
    expect(Option.isSome(mergeableMessage(decoded({ update_id: 7, message: { ...message, from: { ...message.from, is_bot: true } } })))).toBe(false)
  })
})

describe("quick successive messages over the fake Bot API", () => {
  const withBot = <A, E, R>(
    options: Parameters<typeof conversationBot>[1],
    body: (fake: Effect.Effect.Success<ReturnType<typeof makeFakeBotApi>>) => Effect.Effect<A, E, R>
  ) =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const context = yield* Layer.build(conversationBot(fake, options))
      return yield* body(fake).pipe(Effect.provide(context))
    })

  it.scoped("a private chat: three messages, one model turn that sees all three texts, one reply, all three done", () =>
    withBot({ script: echo(1), dispatcher: { mergeWindow } }, (fake) =>
      Effect.gen(function*() {
        const from = { id: 6021488832, is_bot: false, first_name: "Anna" }
        const chat = { id: 6021488832, type: "private", first_name: "Anna" }
        const texts = ["hello", "I ordered the blue kettle", "when does it arrive?"]
        yield* submitAll(texts.map((text, i) => ({
          update_id: 870001 + i,
          message: { message_id: 301 + i, from, chat, date: 1_764_300_000 + i, text }
        })))
        yield* TestClock.adjust(mergeWindow)
        yield* awaitIdle
        const sent = (yield* fake.calls("sendMessage")).map((c) => c.params)
        expect(sent).toEqual([{ chat_id: 6021488832, text: `re: ${texts.join("\n")}` }])
        const model = yield* ScriptedModel
        const requests = yield* model.requests
        expect(requests.map((r) => r.purpose)).toEqual(["classify", "think", "synthesize"])
        expect(requests.every((r) => lastUserText(r) === texts.join("\n"))).toBe(true)
        expect((yield* entries([870001, 870002, 870003])).map(Option.map((e) => e.status))).toEqual(
          Array.from({ length: 3 }, () => Option.some("done"))
        )
      })))

  it.scoped("a group: one sender's messages are one turn answered as a reply to the last; another sender's are not merged", () =>
    withBot({ script: echo(1), dispatcher: { mergeWindow } }, (fake) =>
      Effect.gen(function*() {
        const chat = { id: -1001500000001, title: "Shop fans", type: "supergroup" }
        const bob = { id: 5002, is_bot: false, first_name: "Bob", username: "bob_k" }
        const ann = { id: 5001, is_bot: false, first_name: "Ann", last_name: "Lee" }
        yield* submitAll([
          {
            update_id: 880101,
            message: {
              message_id: 401, from: bob, chat, date: 1_764_300_010, text: "@Fake_Bot hello",
              entities: [{ offset: 0, length: 9, type: "mention" }]
            }
          },
          { update_id: 880102, message: { message_id: 402, from: bob, chat, date: 1_764_300_011, text: "where is my kettle?" } },
          { update_id: 880103, message: { message_id: 403, from: ann, chat, date: 1_764_300_012, text: "mine came yesterday" } }
        ])
        yield* TestClock.adjust(mergeWindow)
        yield* awaitIdle
        const sent = (yield* fake.calls("sendMessage")).map((c) => c.params)
        expect(sent).toEqual([{
          chat_id: -1001500000001,
          text: "re: Bob: @Fake_Bot hello\nwhere is my kettle?",
          reply_parameters: { message_id: 402, allow_sending_without_reply: true }
        }])
        // Ann's message was not addressed: kept as context, after Bob's turn.
        const history = yield* (yield* HistoryStore).lastN(id(-1001500000001), 10)
        expect(history.map((m) => [m.updateId, m.role, m.speaker, m.text])).toEqual([
          [880101, "user", "Bob", "@Fake_Bot hello"],
          [880102, "user", "Bob", "where is my kettle?"],
          [880102, "assistant", undefined, "re: Bob: @Fake_Bot hello\nwhere is my kettle?"],
          [880103, "user", "Ann Lee", "mine came yesterday"]
        ])
        expect((yield* entries([880101, 880102, 880103])).map(Option.map((e) => e.status))).toEqual(
          Array.from({ length: 3 }, () => Option.some("done"))
        )
      })))
})

describe("quick successive messages after a stopped runtime (SQLite)", () => {
  const tempDir = Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), "bot-merge-"))),
    (dir) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
  )

  /** The bot on the SQLite file `path`, a recorder for Telegram and a scripted model. */
  const sqliteBot = (path: string, script: Script, dispatcher: Partial<DispatcherConfigShape>) =>
    botLayer<never, TelegramApi | LanguageModel>({
      telegram: Layer.effect(TelegramApi, TelegramApi),
      model: Layer.effect(LanguageModel, LanguageModel),
      stores: Layer.orDie(StoresSqlite({ path, busyTimeout: "5 seconds" })),
      profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
      dialogConfig: DialogConfig.make(),
      dispatcherConfig: DispatcherConfig.make({ mergeWindow, ...dispatcher }),
      sendConfig: SendConfig.make({ backoffBase: Duration.millis(1) })
    }).pipe(Layer.orDie, Layer.provideMerge(Layer.merge(TelegramApiRecorder(), LanguageModelScripted(script))))

  const texts = ["hi", "I ordered a kettle", "when does it arrive?"]
  const messages = (first: number) => texts.map((text, i) => textMessage({ updateId: first + i, userId: 21, text }))

  /**
   * A first lifetime that stopped after answering the merged turn of `first`…`first + 2`: the
   * three messages (and `others`) pending in the inbox, the texts and the stored answer in the
   * history, the answer's one message recorded as delivered or not.
   */
  const storedAnswer = (path: string, first: number, others: ReadonlyArray<ReturnType<typeof textMessage>>, options: { readonly delivered: boolean }) =>
    Effect.gen(function*() {
      const inbox = yield* Inbox
      const history = yield* HistoryStore
      for (const u of [...messages(first), ...others]) {
        yield* inbox.record({ updateId: id(u.update_id), chatId: id(21), payload: JSON.stringify(u) })
      }
      for (const [i, text] of texts.entries()) {
        yield* history.append({ chatId: id(21), updateId: id(first + i), role: "user", text, at: i })
      }
      yield* history.append({ chatId: id(21), updateId: id(first + 2), role: "assistant", text: "The kettle arrives tomorrow.", at: 3 })
      if (options.delivered) yield* inbox.markDelivered(id(first + 2), 1)
    }).pipe(Effect.provide(StoresSqlite({ path, busyTimeout: "1 second" })))

  it.scoped("stopped after the turn started, before its answer: the next start answers the three messages once, as one turn", () =>
    Effect.gen(function*() {
      const path = join(yield* tempDir, "bot.sqlite")

      // First lifetime: the turn starts, the model takes a minute, the runtime is stopped (1 s to drain).
      const scope = yield* Scope.make()
      const first = yield* Layer.buildWithScope(
        sqliteBot(path, echo(1, "60 seconds"), { shutdownDeadline: Duration.seconds(1), updateDeadline: Duration.minutes(5) }),
        scope
      )
      const firstSent = yield* Effect.gen(function*() {
        yield* submitAll(messages(5301))
        yield* TestClock.adjust(mergeWindow)
        yield* eventually(modelRequests("synthesize"), (r) => r.length === 1)
        return yield* sentTexts
      }).pipe(Effect.provide(first))
      const stopping = yield* Effect.fork(Scope.close(scope, Exit.void))
      yield* TestClock.adjust("1 second")
      yield* Fiber.join(stopping)
      expect(firstSent).toEqual([])

      // Second lifetime: the three pending updates are recovered and merged again.
      const second = yield* Layer.build(sqliteBot(path, echo(1), {}))
      yield* Effect.gen(function*() {
        expect(yield* (yield* Inbox).pendingCount).toBe(3)
        yield* TestClock.adjust(mergeWindow)
        yield* awaitIdle
        const sent = yield* (yield* TelegramRecorder).sent
        expect(sent.map((m) => [answeredUpdate(m), m.text])).toEqual([[5303, `re: ${texts.join("\n")}`]])
        expect(yield* entries([5301, 5302, 5303])).toEqual([
          Option.some({ status: "done", note: mergedNote(id(5303)) }),
          Option.some({ status: "done", note: mergedNote(id(5303)) }),
          Option.some({ status: "done", note: undefined })
        ])
        expect(yield* (yield* Inbox).pendingCount).toBe(0)
      }).pipe(Effect.provide(second))
    }), 30_000)

  it.scoped("stopped after the answer was delivered, before the updates were marked done: not sent again; a later message its own turn", () =>
    Effect.gen(function*() {
      const path = join(yield* tempDir, "bot.sqlite")
      const later = textMessage({ updateId: 5404, userId: 21, text: "and the price?" })

      // First lifetime, as a crash leaves it: the turn of 5401-5403 answered (the reply stored
      // under 5403 and recorded as delivered), none of them marked done; 5404 came after the
      // window and never started.
      yield* storedAnswer(path, 5401, [later], { delivered: true })

      // Second lifetime: 5401-5403 are merged again up to 5403, whose reply is out already;
      // 5404 is answered on its own.
      const second = yield* Layer.build(sqliteBot(path, echo(1), {}))
      yield* Effect.gen(function*() {
        yield* TestClock.adjust(mergeWindow)
        yield* awaitIdle
        const sent = yield* (yield* TelegramRecorder).sent
        expect(sent.map((m) => [answeredUpdate(m), m.text])).toEqual([[5404, "re: and the price?"]])
        expect(yield* modelRequests("classify")).toHaveLength(1)
        expect(yield* entries([5401, 5402, 5403, 5404])).toEqual([
          Option.some({ status: "done", note: mergedNote(id(5403)) }),
          Option.some({ status: "done", note: mergedNote(id(5403)) }),
          Option.some({ status: "done", note: undefined }),
          Option.some({ status: "done", note: undefined })
        ])
      }).pipe(Effect.provide(second))
    }), 30_000)

  it.scoped("stopped after the answer was stored, before it went out: the next start sends it once", () =>
    Effect.gen(function*() {
      const path = join(yield* tempDir, "bot.sqlite")
      yield* storedAnswer(path, 5501, [], { delivered: false })

      const second = yield* Layer.build(sqliteBot(path, echo(1), {}))
      yield* Effect.gen(function*() {
        yield* TestClock.adjust(mergeWindow)
        yield* awaitIdle
        const sent = yield* (yield* TelegramRecorder).sent
        expect(sent.map((m) => [answeredUpdate(m), m.text])).toEqual([[5503, "The kettle arrives tomorrow."]])
        expect(yield* modelRequests()).toEqual([])
        expect((yield* entries([5501, 5502, 5503])).map(Option.map((e) => e.status))).toEqual(
          Array.from({ length: 3 }, () => Option.some("done"))
        )
      }).pipe(Effect.provide(second))
    }), 30_000)
})
