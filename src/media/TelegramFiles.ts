/**
 * Files users send, fetched from Telegram: `getFile` (on the one Bot API call path) tells where
 * a file is, then its bytes are downloaded from the Bot API's file endpoint,
 * `<base>/file/bot<token>/<file_path>`, on the bot's HTTP client (`keepAliveRequest`, the Bot
 * API calls' own), refused as soon as its content-length or the bytes received pass
 * `MEDIA_MAX_BYTES`, under `MEDIA_DOWNLOAD_TIMEOUT`.
 *
 * The download URL carries the token, so it stays inside this module: the client makes no spans
 * of its own, the span is named `telegram.download` with no URL, and every error text is
 * scrubbed of the token before it leaves.
 */
import { Config, Context, Duration, Effect, Layer, Option, Redacted, Schema } from "effect"
import { keepAliveRequest, type KeepAliveRequestError } from "../http/keepAliveRequest.ts"
import { annotateSpan, withSpan } from "../observability/span.ts"
import { scrubber } from "../telegram/BotApiCall.ts"
import { TelegramApi, type TelegramError } from "../telegram/TelegramApi.ts"
import { BotToken, TelegramConfig } from "../telegram/TelegramConfig.ts"
import { causeText, TelegramApiHttp } from "../telegram/TelegramHttp.ts"
import { MediaConfig } from "./MediaConfig.ts"

/** The file is larger than `MEDIA_MAX_BYTES` (or than the Bot API lets bots download). */
export class FileTooLarge extends Schema.TaggedError<FileTooLarge>()("FileTooLarge", {
  limit: Schema.Number,
  size: Schema.optional(Schema.Number)
}) {
  override get message(): string {
    return `the file is larger than the limit of ${this.limit} bytes${this.size === undefined ? "" : ` (${this.size} bytes)`}`
  }
}

/** The file could not be fetched: getFile refused, the download failed or timed out, or no Bot API is configured. */
export class FileUnavailable extends Schema.TaggedError<FileUnavailable>()("FileUnavailable", {
  message: Schema.String
}) {}

export type FileError = FileTooLarge | FileUnavailable

export interface DownloadedFile {
  readonly bytes: Uint8Array
  /** Where the Bot API keeps the file (`voice/file_12.oga`): its extension names the format. */
  readonly path: string
}

export interface TelegramFilesService {
  /**
   * Downloads a file a user sent. `size` is the size the message announced, if any: a file
   * announced over the limit is refused before any request.
   */
  readonly download: (fileId: string, size?: number) => Effect.Effect<DownloadedFile, FileError>
}

export class TelegramFiles extends Context.Tag("dialog-bot/TelegramFiles")<TelegramFiles, TelegramFilesService>() {}

/** The Bot API's answer to getFile for a file over its own limit (20 MB in the cloud). */
const tooBigForTelegram = (error: TelegramError) =>
  error._tag === "TelegramApiError" && /file is too big/i.test(error.description)

export const makeTelegramFiles = Effect.gen(function*() {
  const api = yield* TelegramApi
  const telegram = yield* TelegramConfig
  const media = yield* MediaConfig
  const scrub = scrubber(telegram.token)
  const fileBase = `${telegram.apiBaseUrl.replace(/\/+$/, "")}/file/bot${Redacted.value(telegram.token)}/`
  const limit = media.maxBytes
  const tooLarge = (size?: number) => new FileTooLarge({ limit, ...(size === undefined ? {} : { size }) })
  const unavailable = (message: string) => new FileUnavailable({ message: scrub(message) })
  const refused = (status: number) => unavailable(`the Bot API answered HTTP ${status} to the download`)
  const failed = (error: KeepAliveRequestError): FileError => {
    switch (error.stage) {
      case "tooLarge":
        // Only the file's own bytes are the file: a long error page is the download failing.
        return error.status === 200 ? tooLarge(error.size) : refused(error.status ?? 0)
      case "timeout":
        return unavailable(`the download took longer than ${Duration.format(media.downloadTimeout)}`)
      case "request":
        return unavailable(`the download failed: ${causeText(error.cause)}`)
      case "response":
        return unavailable(`reading the download failed: ${causeText(error.cause)}`)
    }
  }

  /** The body, refused past the limit (announced or received). */
  const body = (path: string) =>
    keepAliveRequest({
      method: "GET",
      url: new URL(`${fileBase}${encodeURI(path)}`),
      headers: {},
      timeoutMs: Duration.toMillis(media.downloadTimeout),
      maxBytes: limit
    }).pipe(
      Effect.mapError(failed),
      Effect.filterOrFail(
        (response) => response.status === 200,
        (response) => refused(response.status)
      ),
      Effect.map((response) => new Uint8Array(response.body.buffer, response.body.byteOffset, response.body.byteLength))
    )

  const download = (fileId: string, size?: number): Effect.Effect<DownloadedFile, FileError> =>
    Effect.gen(function*() {
      if (size !== undefined && size > limit) return yield* Effect.fail(tooLarge(size))
      const file = yield* api.getFile(fileId).pipe(
        Effect.mapError((e) => (tooBigForTelegram(e) ? tooLarge(size) : unavailable(`getFile failed: ${e.message}`)))
      )
      if (file.file_size !== undefined && file.file_size > limit) return yield* Effect.fail(tooLarge(file.file_size))
      if (file.file_path === undefined || file.file_path === "") {
        return yield* Effect.fail(unavailable("getFile gave no file_path: the file cannot be downloaded"))
      }
      const bytes = yield* body(file.file_path)
      yield* annotateSpan({ bytes: bytes.length })
      return { bytes, path: file.file_path }
    }).pipe(
      Effect.tapError((e) => annotateSpan({ error: e._tag })),
      withSpan("telegram.download", { kind: "client" })
    )

  return TelegramFiles.of({ download })
})

/** Files over the bot's Bot API client and settings. */
export const TelegramFilesHttp: Layer.Layer<TelegramFiles, never, TelegramApi | TelegramConfig | MediaConfig> = Layer
  .effect(TelegramFiles, makeTelegramFiles)

/** No Bot API to fetch files from (no token, e.g. a replay of recorded updates): every file is unavailable. */
export const TelegramFilesUnavailable: Layer.Layer<TelegramFiles> = Layer.succeed(
  TelegramFiles,
  TelegramFiles.of({
    download: () =>
      Effect.fail(new FileUnavailable({ message: "no Bot API to fetch the file from (TELEGRAM_BOT_TOKEN is not set)" }))
  })
)

/**
 * Files from the Bot API configured in the environment (a client of its own, on the one call
 * path), or none when `TELEGRAM_BOT_TOKEN` is not set.
 */
export const TelegramFilesLive = Layer.unwrapEffect(
  Effect.map(Config.option(BotToken), (token) =>
    Option.isNone(token)
      ? TelegramFilesUnavailable
      : TelegramFilesHttp.pipe(
        Layer.provide(Layer.provideMerge(TelegramApiHttp, TelegramConfig.fromEnv))
      ))
)
