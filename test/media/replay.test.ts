/**
 * Recorded updates with media replay offline: the offline model says what each one carried,
 * an album is answered once, and a file is fetched from the Bot API the environment names
 * (none without a token: the file is unavailable, per update).
 */
import { FileSystem } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { ConfigProvider, Context, Duration, Effect, Layer, Option } from "effect"
import { MediaConfig } from "../../src/media/MediaConfig.ts"
import { TelegramFiles, TelegramFilesLive } from "../../src/media/TelegramFiles.ts"
import { replay } from "../../src/replay/Replay.ts"
import { testBot, textMessage } from "../../src/testing/index.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"

type RawUpdate = Record<string, unknown>
const updates = JSON.parse(readFileSync(new URL("../fixtures/media/updates.json", import.meta.url), "utf8")) as
  & Record<string, RawUpdate>
  & { readonly album: ReadonlyArray<RawUpdate> }

describe("replay of recorded media", () => {
  it.scopedLive("each update with media is answered by the offline model, the album once", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const file = `${dir}/recording.jsonl`
      const recorded = [updates["voice"], updates["pdf"], ...updates.album, textMessage({ userId: 4242, text: "thanks", updateId: 700_099 })]
      yield* fs.writeFileString(file, recorded.map((u) => JSON.stringify(u)).join("\n"))
      const result = yield* replay({ file, out: Option.none(), print: false })
      expect(result.updates).toBe(6)
      expect(result.sent.map((line) => line.update_id)).toEqual([700_001, 700_005, 700_013, 700_099])
      expect(result.sent[0]!.text).toMatch(/^I received a voice note of 7 seconds\./)
      expect(result.sent[1]!.text).toMatch(/^I received a document \("invoice\.pdf"\)\./)
      expect(result.sent[2]!.text).toMatch(/^I received 3 photos\./)
    }).pipe(Effect.provide(Layer.merge(testBot({ model: "offline", media: { albumWindow: Duration.millis(50) } }), NodeContext.layer))))

  it.scopedLive("files come from the Bot API of TELEGRAM_BOT_TOKEN and TELEGRAM_API_BASE_URL; without a token none is fetched", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.addFile("voice-1", { bytes: new Uint8Array([1, 2, 3]), path: "voice/file_1.oga" })
      const filesFrom = (env: Record<string, string>) =>
        Layer.build(TelegramFilesLive.pipe(Layer.provide(MediaConfig.make()))).pipe(
          Effect.map((context) => Context.get(context, TelegramFiles)),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
        )
      const configured = yield* filesFrom({ TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url })
      expect((yield* configured.download("voice-1")).bytes).toEqual(new Uint8Array([1, 2, 3]))
      const none = yield* filesFrom({})
      const error = yield* Effect.flip(none.download("voice-1"))
      expect(error).toMatchObject({ _tag: "FileUnavailable", message: expect.stringMatching(/TELEGRAM_BOT_TOKEN is not set/) })
      expect(yield* fake.calls("getFile")).toHaveLength(1)
    }))
})
