import { describe, expect, it } from "@effect/vitest"
import { Effect, Either, Option, Schema } from "effect"
import { readFileSync } from "node:fs"
import { decodeUpdate, decodeUpdateJson, messageText, Update, updateChatId, updateKind } from "../../src/domain/Update.ts"

const fixture = (name: string) =>
  readFileSync(new URL(`../fixtures/${name}`, import.meta.url), "utf8").split("\n").filter((l) => l.trim() !== "")

describe("Update schema", () => {
  it.effect("decodes every fixture update, whatever its kind", () =>
    Effect.gen(function*() {
      const lines = [...fixture("conversation.jsonl"), ...fixture("varied-updates.jsonl")]
      const kinds = new Set<string>()
      for (const line of lines) kinds.add(updateKind(yield* decodeUpdateJson(line)))
      expect([...kinds].sort()).toEqual(["callback_query", "channel_post", "edited_message", "message", "my_chat_member"])
    }))

  it.effect("keeps ids above 2^32 and negative supergroup ids exact", () =>
    Effect.gen(function*() {
      const update = yield* decodeUpdateJson(
        `{"update_id":9007199254740991,"message":{"message_id":1,"date":1,"from":{"id":6021488832,"is_bot":false,"first_name":"T"},"chat":{"id":-1001234567890,"type":"supergroup"},"text":"x"}}`
      )
      expect(update.update_id).toBe(9007199254740991)
      expect(update.message?.from?.id).toBe(6021488832)
      expect(Option.getOrThrow(updateChatId(update))).toBe(-1001234567890)
    }))

  it("rejects ids that a JS number cannot hold exactly", () => {
    const result = Schema.decodeUnknownEither(Schema.parseJson(Update))(
      `{"update_id":1,"message":{"message_id":1,"date":1,"chat":{"id":9223372036854775807,"type":"private"}}}`
    )
    const error = Either.isLeft(result) ? result.left : undefined
    expect(error?._tag).toBe("ParseError")
    expect(error?.message).toContain("expected an integer exact in 64-bit-safe range")
    expect(error?.message).toContain("[\"chat\"]")
  })

  it.effect("ignores unknown fields and decodes unknown update kinds", () =>
    Effect.gen(function*() {
      const update = yield* decodeUpdate({
        update_id: 5,
        some_future_update: { anything: [1, 2, 3] },
        message: {
          message_id: 1,
          date: 1,
          chat: { id: 1, type: "private", brand_new_field: true },
          text: "hi",
          fancy_effects: { id: "x" }
        }
      })
      expect(update.message?.text).toBe("hi")
      const future = yield* decodeUpdate({ update_id: 6, some_future_update: { x: 1 } })
      expect(updateKind(future)).toBe("unknown")
      expect(Option.isNone(updateChatId(future))).toBe(true)
    }))

  it.effect("a caption counts as text", () =>
    Effect.gen(function*() {
      const update = yield* decodeUpdate({
        update_id: 7,
        message: { message_id: 1, date: 1, chat: { id: 1, type: "private" }, caption: "look", photo: [] }
      })
      expect(Option.getOrThrow(messageText(update.message!))).toBe("look")
    }))

  it("refuses a body that is not an update", () => {
    for (const body of ["[]", "null", "{\"update_id\":\"1\"}", "{\"message\":{}}", "{\"update_id\":1.5}"]) {
      expect(Either.isLeft(Schema.decodeUnknownEither(Schema.parseJson(Update))(body))).toBe(true)
    }
  })
})
