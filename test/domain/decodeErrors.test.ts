import { describe, expect, it } from "@effect/vitest"
import { Either, Option, Schema } from "effect"
import { summarizeParseError } from "../../src/domain/decodeErrors.ts"
import { Update } from "../../src/domain/Update.ts"

const decodeUpdate = Schema.decodeUnknownEither(Update, { onExcessProperty: "ignore" })

const summary = (input: unknown) => summarizeParseError(Option.getOrThrow(Either.getLeft(decodeUpdate(input))))

describe("decode errors summarised", () => {
  it("names the first paths and what was expected, not the whole Update schema nor the values", () => {
    expect(summary({ update_id: "x" })).toBe("update_id: expected a number")
    expect(summary({})).toBe("update_id: missing")
    expect(summary({ update_id: 1, message: { message_id: 1, date: 1, chat: { id: "z", type: "private" }, text: "secret" } })).toBe(
      "message.chat.id: expected a number"
    )
    expect(summary(5)).toBe("(root): expected an object")
  })

  it("lists at most three issues and caps the length", () => {
    const Wide = Schema.Struct({ a: Schema.Number, b: Schema.Number, c: Schema.Number, d: Schema.Number, e: Schema.Array(Schema.String) })
    const error = Option.getOrThrow(Either.getLeft(Schema.decodeUnknownEither(Wide, { errors: "all" })({ e: [1] })))
    expect(summarizeParseError(error)).toBe("a: missing; b: missing; c: missing; and 2 more")
    expect(summarizeParseError(error, { maxLength: 20 })).toHaveLength(20)
  })
})
