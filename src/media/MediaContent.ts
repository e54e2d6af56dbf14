/**
 * What a message carries that the bot can read: a voice note, an audio file, a video note, a
 * photo or a document, decoded from the message's fields as the Bot API documents them
 * (`Voice`, `Audio`, `VideoNote`, `PhotoSize[]`, `Document`). A field that does not decode is
 * treated as absent.
 */
import { Option, Schema } from "effect"
import type { Message } from "../domain/Update.ts"

const fileFields = {
  file_id: Schema.String,
  file_unique_id: Schema.String,
  file_size: Schema.optional(Schema.Number)
}

const Voice = Schema.Struct({ ...fileFields, duration: Schema.Number, mime_type: Schema.optional(Schema.String) })
const Audio = Schema.Struct({
  ...fileFields,
  duration: Schema.Number,
  mime_type: Schema.optional(Schema.String),
  file_name: Schema.optional(Schema.String),
  title: Schema.optional(Schema.String)
})
const VideoNote = Schema.Struct({ ...fileFields, length: Schema.Number, duration: Schema.Number })
const Document = Schema.Struct({
  ...fileFields,
  file_name: Schema.optional(Schema.String),
  mime_type: Schema.optional(Schema.String)
})
const PhotoSize = Schema.Struct({ ...fileFields, width: Schema.Number, height: Schema.Number })
const Photo = Schema.NonEmptyArray(PhotoSize)

const decode = <A, I>(schema: Schema.Schema<A, I>) => Schema.decodeUnknownOption(schema, { onExcessProperty: "ignore" })
const decodeVoice = decode(Voice)
const decodeAudio = decode(Audio)
const decodeVideoNote = decode(VideoNote)
const decodeDocument = decode(Document)
const decodePhoto = decode(Photo)

export type Media =
  | {
    readonly kind: "voice" | "audio" | "video_note"
    readonly fileId: string
    readonly size: number | undefined
    readonly seconds: number
    readonly mimeType: string | undefined
    /** The name the endpoint sees; its extension names the format. */
    readonly fileName: string
  }
  | { readonly kind: "photo"; readonly fileId: string; readonly size: number | undefined }
  | {
    readonly kind: "document"
    readonly fileId: string
    readonly size: number | undefined
    readonly fileName: string | undefined
    readonly mimeType: string | undefined
  }

/**
 * The size of a photo to fetch: the largest whose size is known to be within `maxBytes`; when
 * no size is, the largest (its download is bounded anyway); when every size is over, the
 * smallest (refused as too large, so the user hears why).
 */
export const photoSize = (sizes: typeof Photo.Type, maxBytes: number): typeof PhotoSize.Type => {
  const byArea = [...sizes].sort((a, b) => a.width * a.height - b.width * b.height)
  const within = byArea.filter((s) => s.file_size === undefined || s.file_size <= maxBytes)
  return within.at(-1) ?? byArea[0]!
}

/** The readable media of a message, if any. */
export const mediaOf = (message: Message, maxBytes: number): Option.Option<Media> => {
  const voice = decodeVoice(message["voice"])
  if (Option.isSome(voice)) {
    const v = voice.value
    return Option.some({ kind: "voice", fileId: v.file_id, size: v.file_size, seconds: v.duration, mimeType: v.mime_type, fileName: "voice.ogg" })
  }
  const audio = decodeAudio(message["audio"])
  if (Option.isSome(audio)) {
    const a = audio.value
    return Option.some({
      kind: "audio",
      fileId: a.file_id,
      size: a.file_size,
      seconds: a.duration,
      mimeType: a.mime_type,
      fileName: a.file_name ?? "audio.mp3"
    })
  }
  const note = decodeVideoNote(message["video_note"])
  if (Option.isSome(note)) {
    const n = note.value
    return Option.some({ kind: "video_note", fileId: n.file_id, size: n.file_size, seconds: n.duration, mimeType: "video/mp4", fileName: "video_note.mp4" })
  }
  const photo = decodePhoto(message.photo)
  if (Option.isSome(photo)) {
    const chosen = photoSize(photo.value, maxBytes)
    return Option.some({ kind: "photo", fileId: chosen.file_id, size: chosen.file_size })
  }
  const document = decodeDocument(message["document"])
  if (Option.isSome(document)) {
    const d = document.value
    return Option.some({ kind: "document", fileId: d.file_id, size: d.file_size, fileName: d.file_name, mimeType: d.mime_type })
  }
  return Option.none()
}

/** The album a message belongs to (`media_group_id`), if any. */
export const mediaGroupOf = (message: Message): Option.Option<string> => {
  const id = message["media_group_id"]
  return typeof id === "string" && id !== "" ? Option.some(id) : Option.none()
}

/** A file's extension as the Bot API keeps it (`photos/file_3.jpg` → `jpg`), lower case. */
export const extensionOf = (path: string): string => /\.([A-Za-z0-9]{1,8})$/.exec(path)?.[1]?.toLowerCase() ?? ""

const imageTypes: Readonly<Record<string, string>> = {
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  png: "image/png",
  gif: "image/gif",
  webp: "image/webp"
}

/** The MIME type of an image the model may be given (JPEG, PNG, GIF, WebP), by its type or its file's extension. */
export const imageType = (mimeType: string | undefined, path: string): string | undefined => {
  if (mimeType !== undefined && Object.values(imageTypes).includes(mimeType.toLowerCase())) return mimeType.toLowerCase()
  return imageTypes[extensionOf(path)]
}
