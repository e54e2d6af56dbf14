/**
 * Hostile input. 10,000 generated webhook bodies — malformed JSON, wrong types, huge strings,
 * deep nesting, unknown update kinds, missing fields, 64-bit edge ids, lone surrogates, bytes
 * that are not UTF-8, wrong content types — through the real webhook server: each one gets a
 * 4xx or a 200 (recorded, or skipped), never a 5xx or a dropped connection, and the bot still
 * answers a normal update afterwards. Tool arguments from the model are fuzzed the same way,
 * through the Tools service and through whole dialogs: every one comes back as a tool result.
 */
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, FastCheck as fc, Layer, Logger, LogLevel, Scope } from "effect"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import { DispatcherConfig } from "../../src/runtime/DispatcherConfig.ts"
import { SendConfig } from "../../src/telegram/SendConfig.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { LanguageModelOffline } from "../../src/llm/OfflineModel.ts"
import { BotProfileFile } from "../../src/profile/BotProfile.ts"
import { botLayer } from "../../src/runtime/BotLayer.ts"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { Tools } from "../../src/tools/Tools.ts"
import { defaultProfilePath, modelRequests, runUpdates, testBot, textMessage, toolResults } from "../../src/testing/index.ts"
import { makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"
import { startWebhookServer } from "./support.ts"

const secret = "hostile-suite-secret"
/** `npm run test:faults` posts all 10,000; `npm test` the first 1,500 of the same sample. */
const bodies = process.env["FAULTS_FULL"] === "1" ? 10_000 : 1_500

// ── generators ───────────────────────────────────────────────────────────────────────────────

const edgeIds = fc.constantFrom<unknown>(
  0, -1, 1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1), 2 ** 53, 2 ** 63, -(2 ** 63), 1e308, -1e308, 1.5, -0,
  "1", "9223372036854775807", null, true, [], {}
)
const loneSurrogates = fc.constantFrom("\ud800", "\udfff", "a\ud83d", "\ude00b", "\u0000", "\ufeff", "\u202e", "🙂\ud800🙂")
const weirdText = fc.oneof(
  fc.string(),
  fc.string({ unit: "binary", maxLength: 200 }),
  loneSurrogates,
  fc.tuple(fc.string(), loneSurrogates, fc.string()).map(([a, b, c]) => a + b + c),
  fc.constantFrom("'; DROP TABLE inbox; --", "\" OR 1=1 --", "$1", "%s%n", "/start@", "/clear", "", " ", "\n\n")
)
const anyValue: fc.Arbitrary<unknown> = fc.oneof(edgeIds, weirdText, fc.double(), fc.boolean(), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }))

const user = fc.record({
  id: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 1, max: 2 ** 40 }) }, { weight: 1, arbitrary: edgeIds }),
  is_bot: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyValue }),
  first_name: fc.oneof({ weight: 4, arbitrary: weirdText }, { weight: 1, arbitrary: anyValue })
}, { requiredKeys: [] })

const chat = fc.record({
  id: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -(2 ** 45), max: 2 ** 45 }) }, { weight: 1, arbitrary: edgeIds }),
  type: fc.oneof(fc.constantFrom("private", "group", "supergroup", "channel"), weirdText)
}, { requiredKeys: [] })

const message = fc.record({
  message_id: fc.oneof(fc.nat(), edgeIds),
  date: fc.oneof(fc.nat(), edgeIds),
  chat,
  from: user,
  text: fc.oneof({ weight: 5, arbitrary: weirdText }, { weight: 1, arbitrary: anyValue }),
  caption: weirdText,
  entities: fc.array(fc.record({ type: weirdText, offset: anyValue, length: anyValue }), { maxLength: 3 })
}, { requiredKeys: ["message_id", "chat"] })

const kinds = ["message", "edited_message", "business_message", "channel_post", "callback_query", "my_chat_member", "poll", "some_future_kind"]
const update = fc.record({
  update_id: fc.oneof({ weight: 6, arbitrary: fc.integer({ min: 1, max: 2 ** 45 }) }, { weight: 1, arbitrary: edgeIds }),
  kind: fc.constantFrom(...kinds),
  payload: fc.oneof({ weight: 6, arbitrary: message }, { weight: 1, arbitrary: anyValue })
}, { requiredKeys: ["kind", "payload"] }).map(({ kind, payload, ...rest }) => ({ ...rest, [kind]: payload }))

const nested = (depth: number, leaf: string) => "[".repeat(depth) + leaf + "]".repeat(depth)
const deepReply = (depth: number) => {
  let m = "{\"message_id\":1,\"date\":1,\"chat\":{\"id\":1,\"type\":\"private\"},\"text\":\"x\"}"
  for (let i = 0; i < depth; i++) {
    m = `{"message_id":${i + 2},"date":1,"chat":{"id":1,"type":"private"},"text":"x","reply_to_message":${m}}`
  }
  return m
}

interface Body {
  readonly body: string | Uint8Array
  readonly contentType: string | undefined
}

const body: fc.Arbitrary<Body> = fc.tuple(
  fc.oneof(
    { weight: 10, arbitrary: update.map((u) => JSON.stringify(u)) },
    // Malformed JSON: any text, or a valid update cut short.
    { weight: 2, arbitrary: fc.string({ maxLength: 300 }) },
    { weight: 2, arbitrary: fc.tuple(update, fc.nat()).map(([u, n]) => { const t = JSON.stringify(u); return t.slice(0, n % Math.max(1, t.length)) }) },
    // Huge strings: around and above the body limit.
    { weight: 1, arbitrary: fc.oneof(fc.integer({ min: 4_000, max: 40_000 }), fc.integer({ min: 1_048_000, max: 1_200_000 })).map((n) => JSON.stringify({ update_id: n, message: { message_id: 1, date: 1, chat: { id: 5, type: "private" }, from: { id: 5, is_bot: false, first_name: "Big" }, text: "x".repeat(n) } })) },
    // Deep nesting: in an unknown field, as the body itself, and as a chain of quoted messages.
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 200_000 }).map((d) => `{"update_id":${d},"unknown_field":${nested(d, "1")}}`) },
    { weight: 1, arbitrary: fc.integer({ min: 100, max: 100_000 }).map((d) => nested(d, "{}")) },
    { weight: 1, arbitrary: fc.integer({ min: 10, max: 3_000 }).map((d) => `{"update_id":${777_000_000 + d},"message":${deepReply(d)}}`) },
    // Raw JSON with escapes that decode to lone surrogates and NUL.
    { weight: 1, arbitrary: fc.nat({ max: 2 ** 40 }).map((n) => `{"update_id":${n + 1},"message":{"message_id":1,"date":1,"chat":{"id":${n % 1000 + 1},"type":"private"},"from":{"id":${n % 1000 + 1},"is_bot":false,"first_name":"\\ud800"},"text":"\\udfff\\u0000 hi"}}`) },
    // 64-bit ids written as JSON numbers beyond double precision.
    { weight: 1, arbitrary: fc.constantFrom("9223372036854775807", "-9223372036854775808", "18446744073709551615", "1e400", "-1e400", "0.0000001").map((n) => `{"update_id":${n},"message":{"message_id":${n},"date":1,"chat":{"id":${n},"type":"private"},"text":"hi"}}`) }
  ).map((text): string | Uint8Array => text),
  fc.oneof(
    { weight: 6, arbitrary: fc.constant<string | undefined>("application/json") },
    { weight: 1, arbitrary: fc.constantFrom<string | undefined>(undefined, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "") }
  ),
  fc.nat({ max: 99 })
).map(([text, contentType, roll]): Body => ({
  // A few bodies are bytes that are not UTF-8 at all.
  body: roll < 3 ? Uint8Array.from([0xff, 0xfe, 0xc3, 0x28, 0xa0, 0xa1, 0xe2, 0x28, 0xa1, ...Buffer.from(String(text).slice(0, 100))]) : text,
  contentType
}))

// ── the suite ────────────────────────────────────────────────────────────────────────────────

describe("hostile input", () => {
  it.scopedLive(`${bodies} generated webhook bodies: 4xx or 200 each, never a 5xx; the bot still answers`, () =>
    Effect.gen(function*() {
      const botApi = yield* makeFakeBotApi()
      const bot = botLayer({
        telegram: telegramLayerFor(botApi),
        model: LanguageModelOffline,
        stores: StoresMemory,
        profile: BotProfileFile(defaultProfilePath).pipe(Layer.provide(NodeContext.layer), Layer.orDie),
        dialogConfig: DialogConfig.make(),
        dispatcherConfig: DispatcherConfig.make({ updateDeadline: Duration.seconds(10) }),
        sendConfig: SendConfig.make({ backoffBase: Duration.millis(1), maxRetries: 1 })
      })
      const { dispatcher, scope, url } = yield* startWebhookServer(bot, secret)
      const samples = fc.sample(body, { numRuns: bodies, seed: 20261128 })
      const statuses = new Map<number, number>()
      const bad: Array<{ readonly status: number; readonly body: string }> = []
      yield* Effect.promise(async () => {
        let next = 0
        await Promise.all(Array.from({ length: 16 }, async () => {
          while (next < samples.length) {
            const sample = samples[next++]!
            const status = await fetch(url, {
              method: "POST",
              headers: {
                "x-telegram-bot-api-secret-token": secret,
                ...(sample.contentType === undefined ? {} : { "content-type": sample.contentType })
              },
              body: sample.body,
              signal: AbortSignal.timeout(10_000)
            }).then(async (r) => {
              await r.arrayBuffer()
              return r.status
            }, () => 0)
            statuses.set(status, (statuses.get(status) ?? 0) + 1)
            if (status === 0 || status >= 500) {
              bad.push({ status, body: `${sample.contentType} ${String(sample.body).slice(0, 300)}` })
            }
          }
        }))
      })
      yield* dispatcher.awaitIdle

      // Afterwards a normal update is still answered.
      const before = (yield* botApi.delivered("sendMessage")).length
      const normal = textMessage({ userId: 4_242, text: "What are your opening hours?", updateId: 999_999_001 })
      const ok = yield* Effect.promise(() =>
        fetch(url, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
          body: JSON.stringify(normal)
        }).then((r) => r.status)
      )
      yield* dispatcher.awaitIdle
      const after = yield* botApi.delivered("sendMessage")
      console.log(JSON.stringify({ suite: "hostile", bodies, statuses: Object.fromEntries(statuses), repliesSent: before, bad: bad.slice(0, 5) }))

      expect(bad).toEqual([])
      expect([...statuses.keys()].every((s) => s === 200 || (s >= 400 && s < 500))).toBe(true)
      expect(statuses.get(200) ?? 0).toBeGreaterThan(0)
      expect(statuses.get(400) ?? 0).toBeGreaterThan(0)
      expect(ok).toBe(200)
      expect(after.slice(before).some((c) => c.params["chat_id"] === 4_242)).toBe(true)
      yield* Scope.close(scope, Exit.void)
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)), 180_000)

  // ── tool arguments ─────────────────────────────────────────────────────────────────────────

  const toolNames = ["get_client_profile", "update_client_profile", "search_knowledge_base", "get_current_time", "request_human_handoff"]
  const jsonish: fc.Arbitrary<string> = fc.oneof(
    fc.jsonValue().map((v) => JSON.stringify(v)),
    fc.record({
      name: anyValue, phone: anyValue, email: anyValue, notes: anyValue, query: anyValue, top_k: anyValue, time_zone: anyValue, reason: anyValue
    }, { requiredKeys: [] }).map((v) => JSON.stringify(v)),
    fc.string({ maxLength: 200 }),
    fc.constantFrom("", "null", "[]", "{", "{\"query\":", "{\"top_k\":1e309}", "{\"__proto__\":{\"polluted\":1}}", "{\"constructor\":{\"prototype\":{}}}"),
    fc.integer({ min: 1, max: 5_000 }).map((d) => nested(d, "1")),
    fc.integer({ min: 1_000, max: 200_000 }).map((n) => JSON.stringify({ query: "a".repeat(n), notes: "b".repeat(n), time_zone: "c".repeat(n) }))
  )
  const toolCall = fc.record({
    id: fc.oneof(fc.string({ maxLength: 20 }), fc.constant("call_1")),
    name: fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...toolNames) }, { weight: 1, arbitrary: weirdText }),
    arguments: jsonish
  })

  it.effect("2,000 fuzzed tool calls through the Tools service: each one a result, never a failure", () =>
    Effect.gen(function*() {
      const tools = yield* Tools
      const calls = fc.sample(toolCall, { numRuns: 2_000, seed: 7 })
      let ok = 0
      let refused = 0
      for (const [i, call] of calls.entries()) {
        const exit = yield* Effect.exit(tools.execute(call, toolNames, { chatId: (100 + i) as TelegramId, userId: (100 + i) as TelegramId, updateId: (1 + i) as TelegramId }))
        expect(Exit.isSuccess(exit), String(exit)).toBe(true)
        if (Exit.isSuccess(exit)) {
          expect(exit.value.callId).toBe(call.id)
          expect(() => JSON.parse(exit.value.content) as unknown).not.toThrow()
          if (exit.value.ok) ok++
          else refused++
        }
      }
      console.log(JSON.stringify({ suite: "hostile-tools", calls: calls.length, ok, refused }))
      expect(ok + refused).toBe(calls.length)
      expect(refused).toBeGreaterThan(0)
      expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined()
    }).pipe(Effect.provide(testBot()), Logger.withMinimumLogLevel(LogLevel.None)))

  it.effect("fuzzed tool arguments inside whole dialogs: the results go back to the model and every update is answered", () =>
    Effect.gen(function*() {
      const calls = fc.sample(fc.array(toolCall, { minLength: 1, maxLength: 3 }), { numRuns: 40, seed: 11 })
      const updates = calls.map((_, i) => textMessage({ userId: 5_000 + i, text: `fuzz ${i}` }))
      const sent = yield* runUpdates(updates)
      const thinkRequests = yield* modelRequests("think")
      // The second think call of each dialog carries the results of the first one's tool calls.
      const withResults = thinkRequests.filter((r) => toolResults(r).length > 0)
      expect(withResults.length).toBe(calls.length)
      expect(sent.length).toBe(updates.length)
      expect(new Set(sent.map((m) => m.chatId)).size).toBe(updates.length)
    }).pipe(
      Effect.provide(testBot({
        // One dialog at a time: the scripted think replies pair up per dialog.
        dispatcher: { maxConcurrentDialogs: 1 },
        script: {
          classify: Array.from({ length: 40 }, () => "general"),
          think: fc.sample(fc.array(toolCall, { minLength: 1, maxLength: 3 }), { numRuns: 40, seed: 11 }).flatMap((batch) => [
            { toolCalls: batch.map((c, j) => ({ id: `c${j}`, name: c.name, arguments: c.arguments })) },
            "noted"
          ]),
          synthesize: Array.from({ length: 40 }, () => "done")
        }
      })),
      Logger.withMinimumLogLevel(LogLevel.None)
    ))
})
