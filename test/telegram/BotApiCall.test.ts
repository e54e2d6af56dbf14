import { NodeSdk } from "@effect/opentelemetry"
import { InMemorySpanExporter, SimpleSpanProcessor } from "@opentelemetry/sdk-trace-base"
import { describe, expect, it } from "@effect/vitest"
import { Console, Context, Duration, Effect, Fiber, Layer, Metric, Option, Redacted, Schema, TestClock } from "effect"
import { CurrentUpdateId } from "../../src/domain/CurrentUpdate.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { telegramErrors, telegramRequests, withTags } from "../../src/observability/Metrics.ts"
import { scrubber } from "../../src/telegram/BotApiCall.ts"
import {
  type BotApiCall,
  type RetrySettings,
  TelegramApi,
  TelegramApiError,
  type TelegramApiService
} from "../../src/telegram/TelegramApi.ts"
import { TelegramApiConsole, TelegramApiRecorder, TelegramRecorder } from "../../src/telegram/TelegramRecorder.ts"
import type { Throttle } from "../../src/telegram/Throttle.ts"
import { makeFakeBotApi, telegramApiFor } from "../support/FakeBotApi.ts"

const chat = 42 as TelegramId

/** A method the bot does not use (yet), defined in one place: name, parameters on the wire, result schema. */
const setMyDescription = (call: BotApiCall) => (description: string) =>
  call("setMyDescription", { description }, Schema.Boolean)

const description = "Answers questions about the shop"

const requestsOf = (method: string) => Effect.map(Metric.value(Metric.tagged(telegramRequests, "method", method)), (s) => s.count)
const errorsOf = (method: string, code: string) => Effect.map(Metric.value(withTags(telegramErrors, { method, code })), (s) => s.count)

/** The recorder's `TelegramApi` and `TelegramRecorder`, built in the test's scope. */
const recorder = (options: Parameters<typeof TelegramApiRecorder>[0] = {}) =>
  Effect.map(Layer.build(TelegramApiRecorder(options)), (context) => ({
    api: Context.get(context, TelegramApi),
    recorder: Context.get(context, TelegramRecorder)
  }))

/** Spans collected in memory through the OpenTelemetry bridge. */
const collecting = () => {
  const exporter = new InMemorySpanExporter()
  const layer = NodeSdk.layer(() => ({ resource: { serviceName: "dialog-bot-test" }, spanProcessor: new SimpleSpanProcessor(exporter) }))
  return { exporter, layer }
}

const quickRetry: RetrySettings = { retryAfterCap: Duration.seconds(30), maxRetries: 3, backoffBase: Duration.millis(1) }

describe("one Bot API call path", () => {
  it.scoped("a method defined in one place is recorded by the recorder, with the update it was made for, and measured", () =>
    Effect.gen(function*() {
      const { api, recorder: calls } = yield* recorder()
      const before = yield* requestsOf("setMyDescription")
      expect(yield* setMyDescription(api.call)(description).pipe(Effect.locally(CurrentUpdateId, Option.some(7 as TelegramId)))).toBe(true)
      expect(yield* calls.calls).toEqual([
        { method: "setMyDescription", params: { description }, updateId: Option.some(7) }
      ])
      expect((yield* requestsOf("setMyDescription")) - before).toBe(1)
      // Only sendMessage calls are messages sent.
      yield* api.sendMessage({ chatId: chat, text: "hello" })
      expect((yield* calls.sent).map((m) => [m.chatId, m.text])).toEqual([[42, "hello"]])
    }))

  it.scopedLive("the same method goes over HTTP to the fake Bot API, which records it; failures are measured by code", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      yield* fake.script("setMyDescription", { result: true })
      const before = yield* requestsOf("setMyDescription")
      const errorsBefore = yield* errorsOf("setMyDescription", "404")
      expect(yield* setMyDescription(api.call)(description)).toBe(true)
      expect((yield* fake.calls("setMyDescription")).map((c) => c.params)).toEqual([{ description }])
      // Not scripted again: the fake answers as Telegram does for a method it does not know.
      const error = yield* Effect.flip(setMyDescription(api.call)(description))
      expect(error).toMatchObject({ _tag: "TelegramApiError", method: "setMyDescription", errorCode: 404 })
      expect((yield* requestsOf("setMyDescription")) - before).toBe(2)
      expect((yield* errorsOf("setMyDescription", "404")) - errorsBefore).toBe(1)
    }))

  it.effect("every call has a span named after its method, child of the caller's span", () => {
    const { exporter, layer } = collecting()
    return Effect.gen(function*() {
      const { api } = yield* recorder()
      yield* setMyDescription(api.call)(description).pipe(Effect.withSpan("caller"))
      const spans = exporter.getFinishedSpans()
      const call = spans.find((s) => s.name === "telegram.setMyDescription")
      const caller = spans.find((s) => s.name === "caller")
      expect(call?.attributes).toEqual({ "telegram.method": "setMyDescription" })
      expect(call?.parentSpanContext?.spanId).toBe(caller?.spanContext().spanId)
    }).pipe(Effect.scoped, Effect.provide(layer))
  })

  it.scopedLive("the token never reaches a span, even from an answer that echoes it", () => {
    const { exporter, layer } = collecting()
    return Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      yield* fake.script(
        "sendMessage",
        { error: 404, description: `Not Found: POST /bot${fake.token}/sendMessage` },
        { status: 500, body: `<html>proxy error for ${fake.url}/bot${fake.token}/sendMessage</html>` }
      )
      yield* Effect.flip(api.sendMessage({ chatId: chat, text: "a" }))
      yield* Effect.flip(api.sendMessage({ chatId: chat, text: "b" }))
      const spans = exporter.getFinishedSpans().filter((s) => s.name.startsWith("telegram."))
      expect(spans.map((s) => s.name)).toEqual(["telegram.sendMessage", "telegram.sendMessage"])
      const everything = JSON.stringify(
        spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status }))
      )
      expect(everything).toContain("<token>")
      expect(everything).not.toContain(fake.token)
      expect(everything).not.toContain(fake.token.split(":")[1]!)
    }).pipe(Effect.provide(layer))
  })

  it("an excerpt that cuts the token off is scrubbed too", () => {
    const token = "123456789:AAH-fakeTokenForTests_0123456789abc"
    const scrub = scrubber(Redacted.make(token))
    expect(scrub(`x /bot${token}/sendMessage`)).toBe("x /bot<token>/sendMessage")
    expect(scrub(`(… /bot${token.slice(0, 20)}…)`)).toBe("(… /bot<token>…)")
    expect(scrub(`tail ${token.split(":")[1]!.slice(0, 12)}…`)).toBe("tail <token>…")
    // A short common prefix is no token.
    expect(scrub("1234…")).toBe("1234…")
  })

  it.scopedLive("results are read tolerantly: only the fields the bot uses, extra fields ignored", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      yield* fake.script(
        "getMe",
        { result: { id: 5, is_bot: true, username: "no_name_bot", can_join_groups: true, some_future_field: { x: 1 } } },
        { result: { id: 6 } }
      )
      expect(yield* api.getMe).toEqual({ id: 5, username: "no_name_bot" })
      expect(yield* api.getMe).toEqual({ id: 6 })
      yield* fake.script("sendMessage", { result: { message_id: 9, chat: { id: 42 }, some_future_field: [] } })
      expect((yield* api.sendMessage({ chatId: chat, text: "x" })).message_id).toBe(9)
      // A result the bot does not read is not decoded at all.
      yield* fake.script("sendChatAction", { result: { unexpected: "shape" } })
      yield* api.sendChatAction(chat, "typing")
      yield* fake.script("getWebhookInfo", { result: { url: "https://bot.example.com/hook", ip_address: "1.2.3.4" } })
      expect((yield* api.getWebhookInfo).url).toBe("https://bot.example.com/hook")
      // What the bot does use must be there.
      yield* fake.script("getMe", { result: { username: "no_id_bot" } })
      const missingId = yield* Effect.flip(api.getMe)
      expect(missingId).toMatchObject({ _tag: "TelegramTransportError", method: "getMe" })
      expect(missingId.message).toContain("unexpected result")
    }))

  it.scoped("a call asks for the retry policy; throttle waits and backoffs happen outside its attempt hook", () =>
    Effect.gen(function*() {
      const trail: Array<string> = []
      let failures = 1
      const { api, recorder: calls } = yield* recorder({
        onSend: () =>
          Effect.suspend(() => {
            trail.push("send")
            return failures-- > 0
              ? Effect.fail(new TelegramApiError({ method: "sendMessage", errorCode: 502, description: "Bad Gateway" }))
              : Effect.void
          })
      })
      const throttle: Throttle = (key, effect) => Effect.zipRight(Effect.sync(() => trail.push(`throttle ${key}`)), effect)
      const attempt = <A, E>(effect: Effect.Effect<A, E>) =>
        Effect.ensuring(Effect.zipRight(Effect.sync(() => trail.push("attempt")), effect), Effect.sync(() => trail.push("attempt done")))
      const fiber = yield* Effect.fork(api.sendMessage({ chatId: chat, text: "hello" }, { retry: quickRetry, throttle, attempt }))
      yield* TestClock.adjust("1 second")
      const sent = yield* Fiber.join(fiber)
      expect(sent.message_id).toBe(1)
      expect(trail).toEqual([
        "throttle 42",
        "attempt",
        "send",
        "attempt done",
        "throttle 42",
        "attempt",
        "send",
        "attempt done"
      ])
      expect((yield* calls.sent).map((m) => m.text)).toEqual(["hello"])

      // Without `retry` a call is one attempt.
      failures = 1
      const error = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "once" }))
      expect(error).toMatchObject({ errorCode: 502 })
      expect((yield* calls.sent).map((m) => m.text)).toEqual(["hello"])
    }))

  it.scoped("the retry policy: a final 4xx is not retried, a 429 above the cap is not waited for", () =>
    Effect.gen(function*() {
      const refusals = [
        new TelegramApiError({ method: "sendMessage", errorCode: 400, description: "Bad Request: chat not found" }),
        new TelegramApiError({ method: "sendMessage", errorCode: 429, description: "Too Many Requests", retryAfter: 60 })
      ]
      let attempts = 0
      const { api } = yield* recorder({
        onSend: () =>
          Effect.suspend(() => {
            attempts++
            const next = refusals.shift()
            return next === undefined ? Effect.void : Effect.fail(next)
          })
      })
      expect(yield* Effect.flip(api.sendMessage({ chatId: chat, text: "a" }, { retry: quickRetry }))).toMatchObject({ errorCode: 400 })
      expect(yield* Effect.flip(api.sendMessage({ chatId: chat, text: "b" }, { retry: quickRetry }))).toMatchObject({ errorCode: 429 })
      expect(attempts).toBe(2)
    }))

  it.scoped("any implementation gets every typed method: the recorder answers each", () =>
    Effect.gen(function*() {
      const { api, recorder: calls } = yield* recorder()
      const service: TelegramApiService = api
      yield* service.getMe
      yield* service.sendChatAction(chat, "typing")
      yield* service.answerCallbackQuery("cb-1")
      expect(yield* service.getUpdates({ timeout: 0 })).toEqual([])
      yield* service.setWebhook({ url: "https://bot.example.com/hook" })
      yield* service.getWebhookInfo
      yield* service.deleteWebhook(true)
      expect((yield* calls.calls).map((c) => [c.method, c.params])).toEqual([
        ["getMe", {}],
        ["sendChatAction", { chat_id: 42, action: "typing" }],
        ["answerCallbackQuery", { callback_query_id: "cb-1" }],
        ["getUpdates", { timeout: 0 }],
        ["setWebhook", { url: "https://bot.example.com/hook" }],
        ["getWebhookInfo", {}],
        ["deleteWebhook", { drop_pending_updates: true }]
      ])
    }))

  it.scoped("the console sink prints the messages sent and records every call like the recorder", () =>
    Effect.gen(function*() {
      const printed: Array<string> = []
      const console: Console.Console = {
        ...(yield* Effect.console),
        log: (...args) => Effect.sync(() => void printed.push(args.map(String).join(" ")))
      }
      const context = yield* Layer.build(TelegramApiConsole)
      const api = Context.get(context, TelegramApi)
      yield* api.sendMessage({ chatId: chat, text: "Hello Ann" }).pipe(Effect.withConsole(console))
      yield* setMyDescription(api.call)(description).pipe(Effect.withConsole(console))
      expect(printed).toEqual(["\n🤖 Hello Ann\n"])
      expect((yield* Context.get(context, TelegramRecorder).calls).map((c) => c.method)).toEqual(["sendMessage", "setMyDescription"])
    }))
})
