import { HttpServer } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Effect, Layer, Option, Redacted } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { withUpdateRecording } from "../../src/replay/RecordingIntake.ts"
import { replay } from "../../src/replay/Replay.ts"
import { transcriptLines } from "../../src/replay/Transcript.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { WebhookConfig } from "../../src/telegram/TelegramConfig.ts"
import { secretHeader, WebhookServerLive } from "../../src/telegram/WebhookServer.ts"
import { TelegramRecorder, testBot } from "../../src/testing/index.ts"

const secret = "record-secret"
// Every update of the recorded conversation but the one asking the time (its answer reads the clock).
const conversation = readFileSync(new URL("../fixtures/conversation.jsonl", import.meta.url), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "" && !line.includes("What time is it"))

/** The offline bot behind its webhook server on 127.0.0.1, recording to `file`; posts the conversation. */
const recordOverWebhook = (file: string, redact: boolean) =>
  Effect.gen(function*() {
    const bot = withUpdateRecording({ file, redact })(testBot({ model: "offline" }))
    const server = WebhookServerLive().pipe(
      Layer.provideMerge(Layer.merge(bot, WebhookConfig.make({ secret: Option.some(Redacted.make(secret)) })))
    )
    const context = yield* Layer.build(server)
    const address = Context.get(context, HttpServer.HttpServer).address
    const port = address._tag === "TcpAddress" ? address.port : 0
    for (const body of conversation) {
      const status = yield* Effect.promise(() =>
        fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", [secretHeader]: secret },
          body
        }).then((r) => r.status)
      )
      expect(status).toBe(200)
    }
    yield* Context.get(context, Dispatcher).awaitIdle
    return transcriptLines(yield* Context.get(context, TelegramRecorder).sent)
  }).pipe(Effect.scoped)

describe("serve --record → replay --expect", () => {
  it.effect("updates recorded over the webhook replay to the same replies", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "record-"))
      const recording = join(dir, "updates.jsonl")
      const live = yield* recordOverWebhook(recording, false)
      expect(live.length).toBe(conversation.length)
      // The recording holds every update as it came, one per line.
      expect(readFileSync(recording, "utf8").trim().split("\n").map((l) => JSON.parse(l).update_id)).toEqual(
        conversation.map((l) => JSON.parse(l).update_id)
      )
      const transcript = join(dir, "transcript.jsonl")
      writeFileSync(transcript, live.map((l) => JSON.stringify(l)).join("\n") + "\n")
      const replayed = yield* replay({ file: recording, out: Option.none(), print: false, expect: Option.some(transcript) }).pipe(
        Effect.provide(Layer.merge(testBot({ model: "offline" }), NodeContext.layer))
      )
      // Chats run in parallel, so only each update's replies are compared (as --expect does).
      const byUpdate = (lines: typeof live) => [...lines].sort((a, b) => (a.update_id ?? 0) - (b.update_id ?? 0))
      expect(byUpdate(replayed.sent)).toEqual(byUpdate(live))

      // A transcript that differs fails the replay with the difference.
      writeFileSync(transcript, live.map((l, i) => JSON.stringify(i === 2 ? { ...l, text: "changed" } : l)).join("\n") + "\n")
      const mismatch = yield* replay({ file: recording, out: Option.none(), print: false, expect: Option.some(transcript) }).pipe(
        Effect.provide(Layer.merge(testBot({ model: "offline" }), NodeContext.layer)),
        Effect.flip
      )
      expect(mismatch._tag).toBe("ReplayMismatch")
    }))

  it.effect("--redact keeps ids and texts, drops names, and still replays", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "record-"))
      const recording = join(dir, "updates.jsonl")
      const live = yield* recordOverWebhook(recording, true)
      const text = readFileSync(recording, "utf8")
      expect(text).not.toContain("Petrova")
      expect(text).not.toContain("anna_p")
      expect(text).toContain("6021488832")
      expect(text).toContain("Хочу оформить заказ на доставку.")
      const transcript = join(dir, "transcript.jsonl")
      writeFileSync(transcript, live.map((l) => JSON.stringify(l)).join("\n") + "\n")
      const replayed = yield* replay({
        file: recording,
        out: Option.none(),
        print: false,
        expect: Option.some(transcript),
        expectMode: "shape"
      }).pipe(Effect.provide(Layer.merge(testBot({ model: "offline" }), NodeContext.layer)))
      expect(replayed.sent.length).toBe(live.length)
    }))
})
