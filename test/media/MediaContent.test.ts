import { describe, expect, it } from "@effect/vitest"
import { Option } from "effect"
import { capDocument, documentFormat } from "../../src/media/DocumentText.ts"
import { imageType, mediaGroupOf, mediaOf, photoSize } from "../../src/media/MediaContent.ts"
import { formatBytes } from "../../src/media/MediaTurn.ts"
import type { Message, TelegramId } from "../../src/domain/Update.ts"

const message = (fields: Record<string, unknown>): Message => ({
  message_id: 1,
  date: 1,
  chat: { id: 1 as TelegramId, type: "private" },
  ...fields
}) as Message

const size = (name: string, width: number, fileSize?: number) => ({
  file_id: name,
  file_unique_id: `u-${name}`,
  width,
  height: width,
  ...(fileSize === undefined ? {} : { file_size: fileSize })
})

describe("what a message carries", () => {
  it("a photo's size: the largest within the limit; the largest when no size is known; the smallest when all are over", () => {
    expect(photoSize([size("s", 90, 1_000), size("m", 320, 20_000), size("x", 1280, 200_000)], 50_000).file_id).toBe("m")
    expect(photoSize([size("x", 1280), size("s", 90)], 50_000).file_id).toBe("x")
    expect(photoSize([size("m", 320, 80_000), size("x", 1280, 200_000)], 50_000).file_id).toBe("m")
  })

  it("decodes voice, audio, video notes, photos and documents; a malformed field counts as absent", () => {
    const voice = mediaOf(message({ voice: { file_id: "v", file_unique_id: "uv", duration: 3, mime_type: "audio/ogg" } }), 1_000)
    expect(voice).toEqual(Option.some({ kind: "voice", fileId: "v", size: undefined, seconds: 3, mimeType: "audio/ogg", fileName: "voice.ogg" }))
    expect(Option.map(mediaOf(message({ video_note: { file_id: "n", file_unique_id: "un", length: 240, duration: 5 } }), 1_000), (m) => m.kind))
      .toEqual(Option.some("video_note"))
    expect(mediaOf(message({ voice: "not a voice" }), 1_000)).toEqual(Option.none())
    expect(mediaOf(message({ photo: [] }), 1_000)).toEqual(Option.none())
    expect(mediaOf(message({ document: { file_id: "d" } }), 1_000)).toEqual(Option.none())
    expect(mediaOf(message({ sticker: { file_id: "s", file_unique_id: "us" } }), 1_000)).toEqual(Option.none())
    expect(mediaGroupOf(message({ media_group_id: "123" }))).toEqual(Option.some("123"))
    expect(mediaGroupOf(message({ media_group_id: 123 }))).toEqual(Option.none())
  })

  it("formats: images by type or extension, documents the bot reads, the cut note, byte counts", () => {
    expect(imageType(undefined, "photos/file_1.jpg")).toBe("image/jpeg")
    expect(imageType("IMAGE/PNG", "x")).toBe("image/png")
    expect(imageType("image/tiff", "scan.tiff")).toBeUndefined()
    expect(documentFormat("application/pdf", undefined)).toBe("pdf")
    expect(documentFormat(undefined, "Notes.MD")).toBe("text")
    expect(documentFormat("application/zip", "a.zip")).toBeUndefined()
    expect(capDocument("abcdef", 10)).toBe("abcdef")
    expect(capDocument("abcdef", 4)).toBe("abcd\n[… cut: the document has 6 characters, the first 4 are shown]")
    expect([formatBytes(20 * 1024 * 1024), formatBytes(32 * 1024), formatBytes(1536 * 1024)]).toEqual(["20 MB", "32 KB", "1.5 MB"])
  })
})
