/**
 * Settings of media: the size and time bounds of file downloads, the transcription model,
 * whether pictures reach the model, how much of a document's text it reads, and how long the
 * photos of one album are collected.
 */
import { Config } from "effect"
import { duration, integerIn, Settings } from "../config.ts"
import { liveModelRequested } from "../llm/LlmConfig.ts"

/** The cloud Bot API's download limit: 20 MB. */
export const defaultMaxBytes = 20 * 1024 * 1024

export const MediaConfigSchema = Config.all({
  /** Largest file the bot downloads, in bytes; a larger one gets the profile's `fileTooLarge` text. */
  maxBytes: integerIn("MEDIA_MAX_BYTES", defaultMaxBytes, 1024, 2 * 1024 * 1024 * 1024),
  /** Deadline of one file download (the body, after getFile). */
  downloadTimeout: duration("MEDIA_DOWNLOAD_TIMEOUT", "30 seconds"),
  /** Model of the OpenAI-compatible `/audio/transcriptions` endpoint. */
  transcribeModel: Config.string("TRANSCRIBE_MODEL").pipe(Config.withDefault("whisper-1")),
  /** Deadline of one transcription request (each retry has its own). */
  transcribeTimeout: duration("TRANSCRIBE_TIMEOUT", "60 seconds"),
  /**
   * Pictures reach the model as image parts of the user's message; `false`: the user is told
   * the bot cannot look at pictures.
   */
  vision: Config.boolean("VISION").pipe(Config.withDefault(true)),
  /** Characters of a document's text given to the model at most (the rest is cut, with a note). */
  documentChars: integerIn("MEDIA_DOCUMENT_CHARS", 20_000, 100, 1_000_000),
  /** How long the last photo of an album waits for more before the album is answered. */
  albumWindow: duration("MEDIA_ALBUM_WINDOW", "1500 millis"),
  /**
   * No real model is configured (neither `OPENAI_API_KEY` nor `OPENAI_BASE_URL`): the built-in
   * offline model is told in words what arrived, and nothing is downloaded or transcribed.
   */
  describeOnly: liveModelRequested.pipe(Config.map((live) => !live))
})
export type MediaConfigShape = Config.Config.Success<typeof MediaConfigSchema>

export class MediaConfig extends Settings<MediaConfig>()("dialog-bot/MediaConfig", MediaConfigSchema) {}
