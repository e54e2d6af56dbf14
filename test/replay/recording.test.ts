import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { redactUpdate } from "../../src/replay/Redaction.ts"
import { parseUpdates } from "../../src/replay/Replay.ts"
import {
  makeUpdateRecorder,
  recordedLine,
  redactUpdateJson,
  UpdateRecorder,
  UpdateRecorderFile,
  UpdateRecorderOff
} from "../../src/replay/UpdateRecorder.ts"

const privateMessage = {
  update_id: 900_000_001,
  message: {
    message_id: 17,
    from: {
      id: 9_007_199_254_740_991,
      is_bot: false,
      first_name: "Anna",
      last_name: "Petrova",
      username: "anna_p",
      language_code: "ru"
    },
    chat: { id: 9_007_199_254_740_991, type: "private", first_name: "Anna", last_name: "Petrova", username: "anna_p" },
    date: 1_764_300_007,
    text: "Call me at +49 30 1234567, I'm Anna",
    entities: [{ offset: 11, length: 14, type: "phone_number" }],
    reply_to_message: {
      message_id: 16,
      from: { id: 7_000_000_001, is_bot: true, first_name: "DialogBot", username: "dialog_demo_bot" },
      chat: { id: 9_007_199_254_740_991, type: "private", first_name: "Anna" },
      date: 1_764_300_001,
      text: "What is your phone?"
    }
  }
}

describe("redactUpdate", () => {
  it("replaces names and usernames, keeps ids, numbers, structure and the message text", () => {
    const redacted = redactUpdate(privateMessage)
    expect(redacted).toEqual({
      update_id: 900_000_001,
      message: {
        message_id: 17,
        from: {
          id: 9_007_199_254_740_991,
          is_bot: false,
          first_name: "[first_name]",
          last_name: "[last_name]",
          username: "[username]",
          language_code: "ru"
        },
        chat: {
          id: 9_007_199_254_740_991,
          type: "private",
          first_name: "[first_name]",
          last_name: "[last_name]",
          username: "[username]"
        },
        date: 1_764_300_007,
        text: "Call me at +49 30 1234567, I'm Anna",
        entities: [{ offset: 11, length: 14, type: "phone_number" }],
        reply_to_message: {
          message_id: 16,
          from: { id: 7_000_000_001, is_bot: true, first_name: "[first_name]", username: "[username]" },
          chat: { id: 9_007_199_254_740_991, type: "private", first_name: "[first_name]" },
          date: 1_764_300_001,
          text: "What is your phone?"
        }
      }
    })
    // the input is not changed
    expect(privateMessage.message.from.first_name).toBe("Anna")
  })

  it("keeps ids exact through the JSON text form, at the edges of the safe range", () =>
    Effect.gen(function*() {
      const json = JSON.stringify({
        update_id: 9_007_199_254_740_991,
        message: {
          message_id: 1,
          from: { id: 9_007_199_254_740_990, is_bot: false, first_name: "A" },
          chat: { id: -1_009_007_199_254_740, type: "supergroup", title: "Public shop chat" },
          date: 1,
          text: "hi"
        }
      })
      const out = yield* redactUpdateJson(json)
      expect(out).toContain("\"update_id\":9007199254740991")
      expect(out).toContain("\"id\":9007199254740990")
      expect(out).toContain("\"id\":-1009007199254740")
      expect(out).toContain("\"title\":\"Public shop chat\"")
      expect(out).not.toContain("\"A\"")
      const decoded = parseUpdates(out)
      expect(decoded.bad).toEqual([])
      expect(decoded.updates[0]!.update.update_id).toBe(9_007_199_254_740_991)
    }))

  it("replaces phone numbers and contact cards, keeping the contact's user id", () => {
    const update = {
      update_id: 5,
      message: {
        message_id: 2,
        from: { id: 42, is_bot: false, first_name: "Tom" },
        chat: { id: 42, type: "private", first_name: "Tom" },
        date: 1,
        contact: { phone_number: "+44 20 7946 0958", first_name: "Tom", last_name: "Walker", user_id: 42, vcard: "BEGIN:VCARD…" }
      }
    }
    const redacted = redactUpdate(update) as typeof update
    expect(redacted.message.contact).toEqual({
      phone_number: "[phone_number]",
      first_name: "[first_name]",
      last_name: "[last_name]",
      user_id: 42,
      vcard: "[vcard]"
    })
  })

  it("replaces free text outside messages: bio, descriptions, inline queries, polls, addresses", () => {
    const joinRequest = {
      update_id: 6,
      chat_join_request: {
        chat: { id: -100_500, type: "supergroup", title: "Shop news", description: "Our channel" },
        from: { id: 77, is_bot: false, first_name: "Eve", username: "eve" },
        user_chat_id: 77,
        date: 10,
        bio: "I live at Main street 5"
      }
    }
    expect(redactUpdate(joinRequest)).toEqual({
      update_id: 6,
      chat_join_request: {
        chat: { id: -100_500, type: "supergroup", title: "Shop news", description: "[description]" },
        from: { id: 77, is_bot: false, first_name: "[first_name]", username: "[username]" },
        user_chat_id: 77,
        date: 10,
        bio: "[bio]"
      }
    })
    const inline = { update_id: 7, inline_query: { id: "q1", from: { id: 1, is_bot: false, first_name: "X" }, query: "anna's address", offset: "" } }
    expect(redactUpdate(inline)).toEqual({
      update_id: 7,
      inline_query: { id: "q1", from: { id: 1, is_bot: false, first_name: "[first_name]" }, query: "[query]", offset: "" }
    })
    const poll = {
      update_id: 8,
      poll: {
        id: "p1",
        question: "Will you come on Friday?",
        options: [{ text: "yes", voter_count: 3 }, { text: "no", voter_count: 1 }],
        total_voter_count: 4,
        explanation: "because"
      }
    }
    expect(redactUpdate(poll)).toEqual({
      update_id: 8,
      poll: {
        id: "p1",
        question: "[question]",
        options: [{ text: "[text]", voter_count: 3 }, { text: "[text]", voter_count: 1 }],
        total_voter_count: 4,
        explanation: "[explanation]"
      }
    })
    const shipping = {
      update_id: 9,
      shipping_query: {
        id: "s",
        from: { id: 2, is_bot: false, first_name: "Y" },
        invoice_payload: "order-17",
        shipping_address: { country_code: "DE", state: "", city: "Berlin", street_line1: "Main 5", street_line2: "", post_code: "10115" }
      }
    }
    expect(redactUpdate(shipping)).toEqual({
      update_id: 9,
      shipping_query: {
        id: "s",
        from: { id: 2, is_bot: false, first_name: "[first_name]" },
        invoice_payload: "order-17",
        shipping_address: {
          country_code: "DE",
          state: "[state]",
          city: "[city]",
          street_line1: "[street_line1]",
          street_line2: "[street_line2]",
          post_code: "[post_code]"
        }
      }
    })
  })

  it("replaces titles of private and basic-group chats, venues, file names and coordinates; keeps callback data", () => {
    const update = {
      update_id: 10,
      callback_query: {
        id: "cb",
        from: { id: 3, is_bot: false, first_name: "Z" },
        data: "order:17",
        message: {
          message_id: 4,
          chat: { id: -42, type: "group", title: "Anna & Tom family" },
          date: 1,
          caption: "the receipt",
          forward_origin: { type: "hidden_user", sender_user_name: "Anna P", date: 5 },
          author_signature: "Tom W",
          document: { file_id: "F1", file_unique_id: "U1", file_name: "passport_anna.pdf" },
          venue: { location: { latitude: 52.52, longitude: 13.405 }, title: "Anna's home", address: "Main 5" }
        }
      }
    }
    expect(redactUpdate(update)).toEqual({
      update_id: 10,
      callback_query: {
        id: "cb",
        from: { id: 3, is_bot: false, first_name: "[first_name]" },
        data: "order:17",
        message: {
          message_id: 4,
          chat: { id: -42, type: "group", title: "[title]" },
          date: 1,
          caption: "the receipt",
          forward_origin: { type: "hidden_user", sender_user_name: "[sender_user_name]", date: 5 },
          author_signature: "[author_signature]",
          document: { file_id: "F1", file_unique_id: "U1", file_name: "[file_name]" },
          venue: { location: { latitude: 0, longitude: 0 }, title: "[title]", address: "[address]" }
        }
      }
    })
  })
})

describe("UpdateRecorder", () => {
  it.scoped("appends one whole line per update from many fibers at once, in the format replay reads", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const file = path.join(dir, "updates.jsonl")
      yield* fs.writeFileString(file, "{\"update_id\":1,\"message\":{\"message_id\":1,\"date\":1,\"chat\":{\"id\":5,\"type\":\"private\"},\"text\":\"kept\"}}\n")
      const long = "x".repeat(3_000)
      yield* Effect.scoped(
        Effect.gen(function*() {
          const recorder = yield* makeUpdateRecorder({ file, redact: false })
          yield* Effect.forEach(
            Array.from({ length: 100 }, (_, i) => i),
            (i) =>
              recorder.record(
                i % 2 === 0
                  ? { update_id: 1000 + i, message: { message_id: i, date: 1, chat: { id: i, type: "private" }, text: `${long}${i}` } }
                  : JSON.stringify({ update_id: 1000 + i, message: { message_id: i, date: 1, chat: { id: i, type: "private" }, text: `${long}${i}` } }, null, 2)
              ),
            { concurrency: "unbounded" }
          )
        })
      )
      const text = yield* fs.readFileString(file)
      const { bad, updates } = parseUpdates(text)
      expect(bad).toEqual([])
      expect(updates).toHaveLength(101)
      expect(updates[0]!.update.message?.text).toBe("kept")
      expect(new Set(updates.map((u) => u.update.update_id)).size).toBe(101)
      for (const u of updates.slice(1)) expect(u.update.message?.text).toBe(`${long}${u.update.update_id - 1000}`)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("writes JSON text as it came (big ids byte for byte), only line breaks become spaces", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = path.join(yield* fs.makeTempDirectoryScoped(), "raw.jsonl")
      const raw = "{\n  \"update_id\": 12345678901234567890,\n  \"message\": {\"text\": \"a\\nb\"}\n}"
      yield* Effect.scoped(Effect.flatMap(makeUpdateRecorder({ file, redact: false }), (r) => r.record(raw)))
      expect(yield* fs.readFileString(file)).toBe("{   \"update_id\": 12345678901234567890,   \"message\": {\"text\": \"a\\nb\"} }\n")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.scoped("redacts before writing when asked, through the layer", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const file = path.join(yield* fs.makeTempDirectoryScoped(), "redacted.jsonl")
      yield* Effect.flatMap(UpdateRecorder, (r) => r.record(JSON.stringify(privateMessage))).pipe(
        Effect.provide(UpdateRecorderFile({ file, redact: true }))
      )
      const line = (yield* fs.readFileString(file)).trim()
      expect(JSON.parse(line)).toEqual(redactUpdate(privateMessage))
      expect(line).not.toContain("Petrova")
      expect(line).toContain("+49 30 1234567")
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("text that is not JSON is a RecordingError, and nothing is written", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(recordedLine("{\"update_id\": 1", { redact: false, file: "x.jsonl" }))
      expect(error._tag).toBe("RecordingError")
      expect(error.file).toBe("x.jsonl")
      expect(error.message).toMatch(/not JSON/)
      const noJson = yield* Effect.flip(recordedLine(undefined, { redact: false }))
      expect(noJson.message).toMatch(/no JSON form/)
    }))

  it.effect("a file that cannot be opened is a RecordingError naming it", () =>
    Effect.gen(function*() {
      const error = yield* Effect.flip(
        Effect.scoped(makeUpdateRecorder({ file: "/nonexistent-dir/updates.jsonl", redact: false }))
      )
      expect(error._tag).toBe("RecordingError")
      expect(error.file).toBe("/nonexistent-dir/updates.jsonl")
      expect(error.message).toMatch(/cannot open/)
    }).pipe(Effect.provide(NodeContext.layer)))

  it.effect("recording off records nothing and never fails", () =>
    Effect.gen(function*() {
      const recorder = yield* UpdateRecorder
      expect(recorder.file).toBeUndefined()
      yield* recorder.record("not json at all")
    }).pipe(Effect.provide(Layer.merge(UpdateRecorderOff, NodeContext.layer))))
})
