/**
 * File downloads from the fake Bot API over HTTP: getFile on the one call path, then the body
 * streamed from `/file/bot<token>/<file_path>` and cut off past the limit; every failure is a
 * typed error without the token.
 */
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer } from "effect"
import { MediaConfig, type MediaConfigShape } from "../../src/media/MediaConfig.ts"
import { TelegramFiles, TelegramFilesHttp } from "../../src/media/TelegramFiles.ts"
import { TelegramConfig } from "../../src/telegram/TelegramConfig.ts"
import { type FakeBotApi, makeFakeBotApi, telegramLayerFor } from "../support/FakeBotApi.ts"

const filesFor = (fake: FakeBotApi, media: Partial<MediaConfigShape> = {}) =>
  Effect.map(
    Layer.build(
      TelegramFilesHttp.pipe(
        Layer.provide(Layer.mergeAll(
          telegramLayerFor(fake, { requestTimeout: Duration.seconds(2) }),
          TelegramConfig.forToken(fake.token, { apiBaseUrl: fake.url }),
          MediaConfig.make(media)
        ))
      )
    ),
    (context) => Context.get(context, TelegramFiles)
  )

const bytes = (n: number) => Uint8Array.from({ length: n }, (_, i) => i % 251)

/** Whether a text holds the token or its secret half. */
const leaks = (fake: FakeBotApi, text: string) => text.includes(fake.token) || text.includes(fake.token.split(":")[1]!)

describe("TelegramFiles over HTTP", () => {
  it.scopedLive("getFile, then the bytes from the file endpoint", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.addFile("voice-1", { bytes: bytes(3000), path: "voice/file_7.oga" })
      const files = yield* filesFor(fake)
      const file = yield* files.download("voice-1", 3000)
      expect(file.path).toBe("voice/file_7.oga")
      expect(file.bytes).toEqual(bytes(3000))
      expect((yield* fake.calls("getFile")).map((c) => c.params)).toEqual([{ file_id: "voice-1" }])
      expect(yield* fake.downloads).toEqual([`/file/bot${fake.token}/voice/file_7.oga`])
    }))

  it.scopedLive("a file over the limit is refused: announced by the message, by getFile, by content-length, or while streaming", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const limit = 4096
      yield* fake.addFile("announced", { bytes: bytes(10_000), path: "documents/a.bin" })
      yield* fake.addFile("unannounced", { bytes: bytes(10_000), path: "documents/b.bin", size: null })
      yield* fake.addFile("streamed", { bytes: bytes(1_000_000), path: "documents/c.bin", size: null, chunked: true })
      const files = yield* filesFor(fake, { maxBytes: limit })

      const byMessage = yield* Effect.flip(files.download("announced", 10_000))
      expect(byMessage).toMatchObject({ _tag: "FileTooLarge", limit, size: 10_000 })
      expect(yield* fake.calls("getFile")).toHaveLength(0)

      expect(yield* Effect.flip(files.download("announced"))).toMatchObject({ _tag: "FileTooLarge", size: 10_000 })
      expect(yield* Effect.flip(files.download("unannounced"))).toMatchObject({ _tag: "FileTooLarge", size: 10_000 })
      const streamed = yield* Effect.flip(files.download("streamed"))
      expect(streamed).toMatchObject({ _tag: "FileTooLarge", limit })
      // getFile was asked three times, the body only twice (the first refused on getFile's size).
      expect(yield* fake.calls("getFile")).toHaveLength(3)
      expect(yield* fake.downloads).toHaveLength(2)
    }))

  it.scopedLive("Telegram's own limit, a refused getFile, a failing, hanging or vanished download: typed errors without the token", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("getFile", { error: 400, description: "Bad Request: file is too big" })
      yield* fake.script("getFile", { error: 400, description: `Bad Request: invalid file_id for /bot${fake.token}/getFile` })
      yield* fake.addFile("big", { bytes: bytes(10), path: "documents/big.bin" })
      yield* fake.addFile("wrong", { bytes: bytes(10), path: "documents/wrong.bin" })
      yield* fake.addFile("broken", { bytes: bytes(10), path: "documents/broken.bin", download: { status: 502, body: `<html>bot${fake.token}</html>` } })
      yield* fake.addFile("hangs", { bytes: bytes(10), path: "documents/hangs.bin", download: { hang: true } })
      yield* fake.addFile("reset", { bytes: bytes(10), path: "documents/reset.bin", download: { reset: true } })
      yield* fake.addFile("gone", { bytes: bytes(10), path: "documents/gone.bin", download: { status: 404, body: "Not Found" } })
      const files = yield* filesFor(fake, { downloadTimeout: Duration.millis(300) })

      const errors = [
        yield* Effect.flip(files.download("big")),
        yield* Effect.flip(files.download("wrong")),
        yield* Effect.flip(files.download("broken")),
        yield* Effect.flip(files.download("hangs")),
        yield* Effect.flip(files.download("reset")),
        yield* Effect.flip(files.download("gone")),
        yield* Effect.flip(files.download("never-sent"))
      ]
      expect(errors.map((e) => e._tag)).toEqual([
        "FileTooLarge",
        "FileUnavailable",
        "FileUnavailable",
        "FileUnavailable",
        "FileUnavailable",
        "FileUnavailable",
        "FileUnavailable"
      ])
      expect(errors[2]!.message).toMatch(/HTTP 502/)
      expect(errors[3]!.message).toMatch(/longer than/)
      expect(errors[6]!.message).toMatch(/invalid file_id/)
      for (const error of errors) {
        expect(leaks(fake, error.message), error.message).toBe(false)
        expect(leaks(fake, JSON.stringify(error)), error.message).toBe(false)
      }
    }))
})
