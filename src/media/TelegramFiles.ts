/**
 * Files users send, fetched from Telegram: `getFile` (on the one Bot API call path) tells where
 * a file is, then its bytes are downloaded from the Bot API's file endpoint,
 * `<base>/file/bot<token>/<file_path>`, as a stream that is cut off as soon as it passes
 * `MEDIA_MAX_BYTES`, under `MEDIA_DOWNLOAD_TIMEOUT`.
 *
 * The download URL carries the token, so it stays inside this module: the HTTP client's own
 * tracing (which records URLs) is off, the span is named `telegram.download` with no URL, and
 * every error text is scrubbed of the token before it leaves.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Config, Context, Duration, Effect, Layer, Option, Redacted, Schema, Stream } from "effect"
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

interface Received {
  readonly chunks: Array<Uint8Array>
  readonly size: number
}

const concat = ({ chunks, size }: Received): Uint8Array => {
  const bytes = new Uint8Array(size)
  let offset = 0
  for (const chunk of chunks) {
    bytes.set(chunk, offset)
    offset += chunk.length
  }
  return bytes
}

export const makeTelegramFiles = Effect.gen(function*() {
  const api = yield* TelegramApi
  const telegram = yield* TelegramConfig
  const media = yield* MediaConfig
  // The client's own spans would record the URL, token included.
  const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerDisabledWhen(() => true))
  const scrub = scrubber(telegram.token)
  const fileBase = `${telegram.apiBaseUrl.replace(/\/+$/, "")}/file/bot${Redacted.value(telegram.token)}/`
  const limit = media.maxBytes
  const tooLarge = (size?: number) => new FileTooLarge({ limit, ...(size === undefined ? {} : { size }) })
  const unavailable = (message: string) => new FileUnavailable({ message: scrub(message) })

  /** The body, streamed and cut off past the limit. */
  const body = (path: string) =>
    Effect.gen(function*() {
      const response = yield* client.execute(HttpClientRequest.get(`${fileBase}${encodeURI(path)}`))
      if (response.status !== 200) {
        return yield* Effect.fail(unavailable(`the Bot API answered HTTP ${response.status} to the download`))
      }
      const announced = Number(response.headers["content-length"])
      if (Number.isFinite(announced) && announced > limit) return yield* Effect.fail(tooLarge(announced))
      const received = yield* response.stream.pipe(
        Stream.runFoldEffect({ chunks: [], size: 0 } as Received, (acc, chunk): Effect.Effect<Received, FileTooLarge> => {
          const size = acc.size + chunk.length
          if (size > limit) return Effect.fail(tooLarge())
          acc.chunks.push(chunk)
          return Effect.succeed({ chunks: acc.chunks, size })
        })
      )
      return concat(received)
    }).pipe(
      Effect.catchTags({
        RequestError: (e) => Effect.fail(unavailable(`the download failed: ${causeText(e.cause) || e.reason}`)),
        ResponseError: (e) => Effect.fail(unavailable(`reading the download failed: ${causeText(e.cause) || e.reason}`))
      }),
      Effect.timeoutFail({
        duration: media.downloadTimeout,
        onTimeout: () => unavailable(`the download took longer than ${Duration.format(media.downloadTimeout)}`)
      })
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

/** Files over the bot's Bot API client and settings, downloads with effect's fetch client (streamed). */
export const TelegramFilesHttp: Layer.Layer<TelegramFiles, never, TelegramApi | TelegramConfig | MediaConfig> = Layer
  .effect(TelegramFiles, makeTelegramFiles)
  .pipe(Layer.provide(FetchHttpClient.layer))

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
