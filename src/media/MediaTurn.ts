/**
 * The step of the pipeline that turns a message's media into the user's turn: a voice note,
 * audio file or video note becomes its transcript, a photo or an image document an image part
 * (when `VISION` is on), a plain-text or PDF document its text (capped, with a note of what was
 * cut), each with the caption. The parts of an album are answered as one turn (`Album.ts`).
 *
 * What cannot be read gets a short answer from the profile's texts instead of the model: a
 * file over the limit or one Telegram would not give, a recording that could not be
 * transcribed, a document of another type, a picture when the bot does not look at pictures.
 * With the built-in offline model nothing is fetched: it is told in words what arrived.
 */
import { Context, Effect, Layer, Metric, Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { TranscriberOpenAiLive } from "./OpenAiTranscriberLayers.ts"
import { type Message, type TelegramId } from "../domain/Update.ts"
import type { ImagePart, UserMedia } from "../llm/LanguageModel.ts"
import { withTags } from "../observability/Metrics.ts"
import { annotateSpan, withSpan } from "../observability/span.ts"
import { BotProfile, type ProfileTexts } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { makeAlbums } from "./Album.ts"
import { DocumentText, documentFormat, DocumentTextLive } from "./DocumentText.ts"
import { MediaConfig } from "./MediaConfig.ts"
import { extensionOf, imageType, type Media, mediaGroupOf, mediaOf } from "./MediaContent.ts"
import { type FileError, TelegramFiles, TelegramFilesLive } from "./TelegramFiles.ts"
import { Transcriber, TranscriberUnavailable } from "./Transcriber.ts"

export type Turn =
  /** No media the bot reads: the pipeline goes its usual way. */
  | { readonly _tag: "NoMedia" }
  /** The user's turn: the text for the model and the history, with pictures and what was received. */
  | { readonly _tag: "Dialog"; readonly text: string; readonly media: UserMedia }
  /** Answered without the model (a profile text), for `reason`. */
  | { readonly _tag: "Reply"; readonly text: string; readonly reason: string }
  /** A part of an album that a later update answers. */
  | { readonly _tag: "Collected"; readonly reason: string }

export interface MediaTurnService {
  /** The user's turn of a message; `NoMedia` when it has no voice, audio, video note, photo or document. */
  readonly turn: (updateId: TelegramId, message: Message) => Effect.Effect<Turn, StoreError>
}

export class MediaTurn extends Context.Tag("dialog-bot/MediaTurn")<MediaTurn, MediaTurnService>() {}

/** One medium read: its line in the user's text, a picture, and what it was in words. */
interface Read {
  readonly line: string
  readonly image?: ImagePart | undefined
  readonly received: string
}

/** Why a medium could not be read: a metric label, the profile text to answer with, and the cause for the log. */
interface Unread {
  readonly outcome: "too_large" | "unavailable" | "transcription_failed" | "no_vision" | "unsupported" | "unreadable"
  readonly answer: string
  readonly reason: string
}

/** Media items of users' messages, by kind and outcome (`read`, `described` to the offline model, or why not read). */
export const mediaItems = Metric.counter("bot_media_total", {
  description: "Media items of users' messages (voice, audio, video notes, photos, documents), by kind and outcome",
  incremental: true
})

/** `20 MB`, `512 KB`: a byte count as people read it. */
export const formatBytes = (bytes: number): string =>
  bytes >= 1024 * 1024 ? `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MB` : `${Math.max(1, Math.round(bytes / 1024))} KB`

const recordingLabel = (media: Extract<Media, { readonly seconds: number }>) =>
  media.kind === "voice" ? "voice message" : media.kind === "audio" ? `audio file "${media.fileName}"` : "video message"

const recordingReceived = (media: Extract<Media, { readonly seconds: number }>) =>
  `${media.kind === "voice" ? "a voice note" : media.kind === "audio" ? "an audio file" : "a video message"} of ${
    Math.round(media.seconds)
  } second${Math.round(media.seconds) === 1 ? "" : "s"}`

/** The endpoint goes by the file name's extension: a name without one gets the stored file's. */
const withExtension = (fileName: string, path: string): string =>
  extensionOf(fileName) !== "" || extensionOf(path) === "" ? fileName : `${fileName}.${extensionOf(path)}`

export const makeMediaTurn = Effect.gen(function*() {
  const config = yield* MediaConfig
  const profile = yield* BotProfile
  const files = yield* TelegramFiles
  const transcriber = yield* Transcriber
  const documents = yield* DocumentText
  const albums = yield* makeAlbums
  const unread = (outcome: Unread["outcome"], answer: string, reason: string): Unread => ({ outcome, answer, reason })
  const fileProblem = (texts: ProfileTexts) => (error: FileError): Unread =>
    error._tag === "FileTooLarge"
      ? unread("too_large", texts.fileTooLarge.split("{limit}").join(formatBytes(config.maxBytes)), error.message)
      : unread("unavailable", texts.fileFailed, error.message)
  const fetch = (media: Media, texts: ProfileTexts) => Effect.mapError(files.download(media.fileId, media.size), fileProblem(texts))

  const picture = (media: Media, mimeType: string | undefined, received: string, texts: ProfileTexts): Effect.Effect<Read, Unread> =>
    Effect.gen(function*() {
      if (!config.vision) return yield* Effect.fail(unread("no_vision", texts.noVision, "VISION is off"))
      if (config.describeOnly) return { line: "[photo]", received }
      const file = yield* fetch(media, texts)
      const type = imageType(mimeType, file.path) ?? "image/jpeg"
      return { line: "[photo]", image: { mimeType: type, data: file.bytes }, received }
    })

  /** One medium read; what cannot be read is answered with `texts` (the user's language). */
  const read = (media: Media, texts: ProfileTexts): Effect.Effect<Read, Unread> => {
    switch (media.kind) {
      case "voice":
      case "audio":
      case "video_note": {
        const label = `${recordingLabel(media)}, ${Math.round(media.seconds)} s`
        const received = recordingReceived(media)
        if (config.describeOnly) return Effect.succeed({ line: `[${label}, not transcribed]`, received })
        return fetch(media, texts).pipe(
          Effect.flatMap((file) =>
            transcriber.transcribe({ bytes: file.bytes, fileName: withExtension(media.fileName, file.path), mimeType: media.mimeType }).pipe(
              Effect.mapError((e) => unread("transcription_failed", texts.voiceFailed, e.message))
            )
          ),
          Effect.filterOrFail((text) => text !== "", () => unread("transcription_failed", texts.voiceFailed, "the transcript is empty")),
          Effect.map((transcript) => ({ line: `[${label}] ${transcript}`, received }))
        )
      }
      case "photo":
        return picture(media, undefined, "a photo", texts)
      case "document": {
        const name = media.fileName ?? "document"
        if (imageType(media.mimeType, name) !== undefined) return picture(media, media.mimeType, `an image file ("${name}")`, texts)
        const format = documentFormat(media.mimeType, media.fileName)
        if (format === undefined) {
          return Effect.fail(unread("unsupported", texts.unsupportedDocument, `a document of type ${media.mimeType ?? "unknown"}`))
        }
        const received = `a document ("${name}")`
        if (config.describeOnly) return Effect.succeed({ line: `[document "${name}", not read]`, received })
        return fetch(media, texts).pipe(
          Effect.flatMap((file) =>
            Effect.mapError(documents.extract(file.bytes, format, config.documentChars), (e) => unread("unreadable", texts.documentFailed, e.message))
          ),
          Effect.filterOrFail((text) => text !== "", () => unread("unreadable", texts.documentFailed, "the document has no text")),
          Effect.map((text) => ({ line: `[document "${name}"]\n${text}`, received }))
        )
      }
    }
  }

  /** The turn of the messages of one album (or of one message): every medium read, then the text. */
  const compose = (messages: ReadonlyArray<Message>): Effect.Effect<Turn> =>
    Effect.gen(function*() {
      const items = messages.flatMap((m) => Option.toArray(mediaOf(m, config.maxBytes)))
      const texts = yield* userTexts(profile)
      const results = yield* Effect.forEach(items, (item) =>
        Effect.either(read(item, texts)).pipe(
          Effect.tap((result) =>
            Metric.increment(withTags(mediaItems, {
              kind: item.kind,
              outcome: result._tag === "Left" ? result.left.outcome : config.describeOnly ? "described" : "read"
            }))
          )
        ), { concurrency: 4 })
      const reads = results.flatMap((r) => (r._tag === "Right" ? [r.right] : []))
      const problems = results.flatMap((r) => (r._tag === "Left" ? [r.left] : []))
      for (const problem of problems) yield* Effect.logWarning(`media not read: ${problem.reason}`)
      if (reads.length === 0) {
        const first = problems[0]
        return first === undefined
          ? { _tag: "NoMedia" } as const
          : { _tag: "Reply", text: first.answer, reason: first.reason } as const
      }
      const captions = messages.flatMap((m) => (m.caption !== undefined && m.caption.trim() !== "" ? [m.caption.trim()] : []))
      const lines = [...captions, ...reads.map((r) => r.line), ...problems.map((p) => `[a file that could not be read: ${p.reason}]`)]
      const images = reads.flatMap((r) => (r.image === undefined ? [] : [r.image]))
      const photos = reads.filter((r) => r.received === "a photo").length
      const received = photos > 1
        ? [`${photos} photos`, ...reads.filter((r) => r.received !== "a photo").map((r) => r.received)]
        : reads.map((r) => r.received)
      yield* annotateSpan({ media_items: items.length, media_images: images.length, media_problems: problems.length })
      return {
        _tag: "Dialog",
        text: lines.join("\n"),
        media: { ...(images.length > 0 ? { images } : {}), received }
      } as const
    })

  const turn = (updateId: TelegramId, message: Message): Effect.Effect<Turn, StoreError> =>
    Option.match(mediaOf(message, config.maxBytes), {
      onNone: () => Effect.succeed({ _tag: "NoMedia" } as const),
      onSome: () =>
        Option.match(mediaGroupOf(message), {
          onNone: () => compose([message]),
          onSome: (group) =>
            Effect.flatMap(albums.collect(updateId, message, group), (parts): Effect.Effect<Turn> =>
              parts._tag === "Collected"
                ? Effect.succeed({ _tag: "Collected", reason: `album part, answered with update ${parts.by} or later` })
                : compose(parts.messages))
        })
    }).pipe(withSpan("media.turn"))

  return MediaTurn.of({ turn })
})

/** The media step over the given services and settings (tests, embedding). */
export const MediaTurnWith = Layer.effect(MediaTurn, makeMediaTurn)

/**
 * The configured transcription endpoint: the model endpoint's, its `openai` SDK imported when
 * the layer is built; none with the offline model, which is told in words what arrived and
 * never loads the SDK (154 modules).
 */
export const TranscriberLive = Layer.unwrapEffect(
  Effect.map(MediaConfig, (config) =>
    config.describeOnly
      ? TranscriberUnavailable
      : TranscriberOpenAiLive)
)

/** The media step with its services from the environment: files from `TELEGRAM_BOT_TOKEN`'s Bot API, the configured transcription endpoint. */
export const MediaTurnLive = MediaTurnWith.pipe(
  Layer.provide(Layer.mergeAll(TelegramFilesLive, TranscriberLive, DocumentTextLive)),
  Layer.provide(MediaConfig.fromEnv)
)
