import { describe, expect, it } from "@effect/vitest"
import { Cause, Duration, Effect, Exit, Fiber, Logger, Option } from "effect"
import type { TelegramId } from "../../src/domain/Update.ts"
import { eventually, makeFakeBotApi, telegramApiFor } from "../support/FakeBotApi.ts"

const chat = 42 as TelegramId

const update = (id: number, text: string) => ({
  update_id: id,
  message: {
    message_id: id,
    date: 1_764_300_000,
    chat: { id: 42, type: "private" },
    from: { id: 42, is_bot: false, first_name: "Ann" },
    text
  }
})

describe("TelegramApiHttp", () => {
  it.scopedLive("a destination's topic, business connection and reply go on the wire; a chat action takes no reply", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      const to = { chatId: -1001 as TelegramId, threadId: 7, businessConnectionId: "bc-1", replyToMessageId: 9 }
      yield* api.sendMessage({ ...to, text: "in the topic" })
      yield* api.sendChatAction(to, "typing")
      const [sent, action] = yield* fake.calls()
      expect(sent!.params).toEqual({
        chat_id: -1001,
        message_thread_id: 7,
        business_connection_id: "bc-1",
        reply_parameters: { message_id: 9, allow_sending_without_reply: true },
        text: "in the topic"
      })
      expect(action!.params).toEqual({ chat_id: -1001, message_thread_id: 7, business_connection_id: "bc-1", action: "typing" })
    }))

  it.scopedLive("sends each method as a JSON POST to /bot<token>/<method> and decodes the result", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      const me = yield* api.getMe
      expect(me.username).toBe("fake_bot")
      const sent = yield* api.sendMessage({ chatId: chat, text: "hello", parseMode: "HTML", replyToMessageId: 5 })
      expect(sent.message_id).toBe(1)
      yield* api.sendChatAction(chat, "typing")
      yield* api.answerCallbackQuery("cb-1", "done")
      yield* api.setWebhook({
        url: "https://bot.example.com/hook",
        secretToken: "s3cret",
        allowedUpdates: ["message"],
        maxConnections: 10,
        dropPendingUpdates: true
      })
      const info = yield* api.getWebhookInfo
      expect(info.url).toBe("https://bot.example.com/hook")
      yield* api.deleteWebhook(false)

      const calls = yield* fake.calls()
      expect(calls.map((c) => c.method)).toEqual([
        "getMe",
        "sendMessage",
        "sendChatAction",
        "answerCallbackQuery",
        "setWebhook",
        "getWebhookInfo",
        "deleteWebhook"
      ])
      expect(calls.every((c) => c.token === fake.token)).toBe(true)
      expect(calls[1]!.params).toEqual({
        chat_id: 42,
        text: "hello",
        parse_mode: "HTML",
        reply_parameters: { message_id: 5, allow_sending_without_reply: true }
      })
      expect(calls[2]!.params).toEqual({ chat_id: 42, action: "typing" })
      expect(calls[3]!.params).toEqual({ callback_query_id: "cb-1", text: "done" })
      expect(calls[4]!.params).toEqual({
        url: "https://bot.example.com/hook",
        secret_token: "s3cret",
        allowed_updates: ["message"],
        max_connections: 10,
        drop_pending_updates: true
      })
      expect(calls[6]!.params).toEqual({ drop_pending_updates: false })
    }))

  it.scopedLive("ok:false answers become TelegramApiError with error_code, description and parameters", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      yield* fake.script(
        "sendMessage",
        { error: 429, description: "Too Many Requests: retry after 7", retryAfter: 7 },
        { error: 400, description: "Bad Request: group chat was upgraded to a supergroup chat", migrateToChatId: -1001234 },
        { error: 403, description: "Forbidden: bot was blocked by the user" }
      )
      const tooMany = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "a" }))
      expect(tooMany).toMatchObject({ _tag: "TelegramApiError", method: "sendMessage", errorCode: 429, retryAfter: 7 })
      const migrated = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "b" }))
      expect(migrated).toMatchObject({ _tag: "TelegramApiError", errorCode: 400, migrateToChatId: -1001234 })
      const blocked = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "c" }))
      expect(blocked).toMatchObject({ errorCode: 403, description: "Forbidden: bot was blocked by the user" })
    }))

  it.scopedLive("answers that are not the Bot API's JSON are transport errors, not crashes", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      yield* fake.script(
        "sendMessage",
        { status: 500, body: "<html><body>Internal Server Error</body></html>" },
        { status: 502, body: "" },
        { status: 200, body: "{\"ok\":true", contentType: "application/json" },
        { result: { unexpected: true } }
      )
      const html = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "a" }))
      expect(html._tag).toBe("TelegramTransportError")
      expect(html).toMatchObject({ status: 500 })
      expect(html.message).toContain("not the Bot API's JSON")
      const empty = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "b" }))
      expect(empty).toMatchObject({ _tag: "TelegramTransportError", status: 502 })
      expect(empty.message).toContain("empty body")
      const truncated = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "c" }))
      expect(truncated._tag).toBe("TelegramTransportError")
      const wrongShape = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "d" }))
      expect(wrongShape._tag).toBe("TelegramTransportError")
      expect(wrongShape.message).toContain("unexpected result")
    }))

  it.scopedLive("a slow answer times out as a transport error and the request is aborted", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake, { requestTimeout: Duration.millis(150) })
      yield* fake.script("sendMessage", { delayMs: 5_000, then: { result: { message_id: 1, date: 1 } } })
      const error = yield* Effect.flip(api.sendMessage({ chatId: chat, text: "slow" }))
      expect(error._tag).toBe("TelegramTransportError")
      expect(error.message).toMatch(/^no answer from 127\.0\.0\.1:\d+ within 150ms$/)
      yield* eventually(fake.aborted, (n) => n === 1)
    }))

  it.scopedLive("interrupting a call cancels its request", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      yield* fake.script("sendMessage", { hang: true })
      const fiber = yield* Effect.fork(api.sendMessage({ chatId: chat, text: "never answered" }))
      yield* fake.waitForCalls("sendMessage", 1)
      const exit = yield* Fiber.interrupt(fiber)
      expect(Exit.isInterrupted(exit)).toBe(true)
      yield* eventually(fake.aborted, (n) => n === 1)
    }))

  it.scopedLive("getUpdates waits for the long poll beyond the request timeout", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake, { requestTimeout: Duration.millis(100) })
      const fiber = yield* Effect.fork(api.getUpdates({ timeout: 1 }))
      yield* fake.waitForCalls("getUpdates", 1)
      yield* fake.pushUpdates(update(10, "late"))
      const polled = yield* Fiber.join(fiber)
      expect(polled.map((p) => p._tag)).toEqual(["Received"])
      expect((yield* fake.calls("getUpdates"))[0]!.params).toEqual({ timeout: 1 })
    }))

  it.scopedLive("getUpdates decodes element by element and keeps each update's JSON", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const api = yield* telegramApiFor(fake)
      yield* fake.pushUpdates(
        update(1, "first"),
        "{\"update_id\":2,\"message\":\"not a message\"}",
        { ...update(3, "third"), some_future_field: { x: 1 } }
      )
      const polled = yield* api.getUpdates({ offset: 1, limit: 10, timeout: 0, allowedUpdates: ["message"] })
      expect(polled.map((p) => p._tag)).toEqual(["Received", "Undecodable", "Received"])
      const [first, second, third] = polled
      expect(first?._tag === "Received" && first.update.update_id).toBe(1)
      expect(second?._tag === "Undecodable" && second.updateId).toBe(2)
      expect(second?._tag === "Undecodable" && second.json).toBe("{\"update_id\":2,\"message\":\"not a message\"}")
      expect(JSON.parse(third!.json)).toEqual({ ...update(3, "third"), some_future_field: { x: 1 } })
      expect((yield* fake.calls("getUpdates"))[0]!.params).toEqual({
        offset: 1,
        limit: 10,
        timeout: 0,
        allowed_updates: ["message"]
      })
    }))

  it.scopedLive("the token never appears in an error or a log line", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const secretHalf = fake.token.split(":")[1]!
      const lines: Array<string> = []
      const capture = Logger.make(({ cause, message }) => {
        lines.push(`${String(message)} ${Cause.pretty(cause)}`)
      })
      const api = yield* telegramApiFor(fake, { requestTimeout: Duration.millis(150) })
      const deadPort = yield* Effect.scoped(Effect.map(makeFakeBotApi(), (other) => other.url))
      const unreachable = yield* telegramApiFor(fake, { apiBaseUrl: deadPort })
      yield* fake.script(
        "sendMessage",
        { error: 404, description: `Not Found: POST /bot${fake.token}/sendMessage` },
        { status: 500, body: `<html>proxy error for ${fake.url}/bot${fake.token}/sendMessage</html>` },
        { delayMs: 2_000, then: { result: true } }
      )
      const failures = [
        yield* Effect.flip(api.sendMessage({ chatId: chat, text: "a" })),
        yield* Effect.flip(api.sendMessage({ chatId: chat, text: "b" })),
        yield* Effect.flip(api.sendMessage({ chatId: chat, text: "c" })),
        yield* Effect.flip(unreachable.getMe)
      ]
      expect(failures.map((e) => e._tag)).toEqual([
        "TelegramApiError",
        "TelegramTransportError",
        "TelegramTransportError",
        "TelegramTransportError"
      ])
      // The host, what failed and the cause: a person can tell a refused connection from a timeout.
      expect(failures[3]!.message).toMatch(/^request to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/)
      for (const failure of failures) {
        yield* Effect.logError("call failed", failure).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
        yield* Effect.logError(Cause.fail(failure)).pipe(Effect.provide(Logger.replace(Logger.defaultLogger, capture)))
      }
      const everything = [
        ...lines,
        ...failures.map((e) => JSON.stringify(e)),
        ...failures.map((e) => String(e)),
        ...failures.map((e) => Cause.pretty(Cause.fail(e)))
      ].join("\n")
      expect(everything).toContain("Not Found")
      expect(everything).toContain("<token>")
      expect(everything).not.toContain(fake.token)
      expect(everything).not.toContain(secretHalf)
      expect(Option.isSome(Option.fromNullable(lines[0]))).toBe(true)
    }))
})
