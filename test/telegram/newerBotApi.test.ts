/**
 * Answers of a Bot API newer than the bot (fixtures in test/fixtures/newer-bot-api.json):
 * `getMe` with the fields of a recent bot's full information and fields the bot has never
 * heard of, update kinds it does not know and unknown fields inside known ones. All are
 * accepted — the unknown kinds recorded, logged at debug and skipped — never an error.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Logger, LogLevel, Option, Schema } from "effect"
import { readFileSync } from "node:fs"
import { decodeUpdate, type TelegramId, updateKind } from "../../src/domain/Update.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { BotIdentity } from "../../src/telegram/BotIdentity.ts"
import { TelegramApi } from "../../src/telegram/TelegramApi.ts"
import { conversationBot, deliver } from "../support/ConversationBot.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"

const Fixture = Schema.Struct({ getMe: Schema.Unknown, updates: Schema.Array(Schema.Unknown) })
const fixture = Schema.decodeUnknownSync(Schema.parseJson(Fixture))(
  readFileSync(new URL("../fixtures/newer-bot-api.json", import.meta.url), "utf8")
)

describe("a newer Bot API", () => {
  it.effect("update kinds the bot does not know and unknown fields decode", () =>
    Effect.gen(function*() {
      const kinds: Array<string> = []
      for (const raw of fixture.updates) kinds.push(updateKind(yield* decodeUpdate(raw)))
      expect(kinds).toEqual(["unknown", "unknown", "message", "stopped_message_generation"])
      const message = (yield* decodeUpdate(fixture.updates[2])).message
      expect(message?.text).toBe("Hello there")
      expect(message?.from?.first_name).toBe("Ben")
    }))

  it.scopedLive("getMe with fields the bot does not know; unknown updates accepted and logged at debug, never an error", () =>
    Effect.gen(function*() {
      const api = yield* makeFakeBotApi()
      yield* api.script("getMe", { result: fixture.getMe }, { result: fixture.getMe })
      const lines: Array<string> = []
      const logger = Logger.make(({ logLevel, message }) => {
        if (logLevel === LogLevel.Debug) lines.push(String(Array.isArray(message) ? message.join(" ") : message))
      })
      yield* Effect.gen(function*() {
        const me = yield* (yield* TelegramApi).getMe
        expect(me).toMatchObject({ id: 7000000001, username: "northwind_shop_bot" })
        expect(Option.map(yield* (yield* BotIdentity).me, (user) => user.username)).toEqual(Option.some("northwind_shop_bot"))

        yield* deliver(...fixture.updates)
        const inbox = yield* Inbox
        for (const id of [880001, 880002, 880003, 880004]) {
          expect(Option.map(yield* inbox.entry(id as TelegramId), (e) => e.status)).toEqual(Option.some("done"))
        }
        // The message among them is answered as usual.
        expect(yield* api.sentTexts(502)).toEqual(["Hello!"])
        expect(lines).toContain("an update of a kind the bot does not know: guest_query")
        expect(lines).toContain("an update of a kind the bot does not know: managed_bot")
      }).pipe(
        Effect.provide(conversationBot(api, { script: { classify: ["general"], think: ["notes"], synthesize: ["Hello!"] } })),
        Effect.provide(Logger.add(logger)),
        Logger.withMinimumLogLevel(LogLevel.Debug)
      )
    }))
})
