/**
 * What POST `WEBHOOK_PATH` does with one request, whatever carries it (`WebhookRoute.ts`).
 *
 * A request is checked in this order: the secret header (compared in constant time; 401 when
 * wrong or missing), the declared content type (415), the body size (413), the body as an
 * Update (400 when it is not JSON or not an Update). A valid update is handed to the `Intake`
 * and acknowledged with 200 at once, before any dialog work; a duplicate update_id is
 * acknowledged and not handled again; while the bot shuts down the answer is 503, so Telegram
 * delivers the update again later; an update the store could not record is 500 (Telegram
 * retries).
 */
import { summarizeParseError } from "../domain/decodeErrors.ts"
import { createHash, timingSafeEqual } from "node:crypto"
import type { IncomingMessage } from "node:http"
import { Effect, Either, Option, Redacted, Schema } from "effect"
import { Update } from "../domain/Update.ts"
import { withSpan } from "../observability/span.ts"
import { Intake } from "./Intake.ts"
import type { WebhookConfigShape } from "./TelegramConfig.ts"
import { annotateLogs } from "../effect/locallyAll.ts"

/** The header Telegram sends the webhook's secret in. */
export const secretHeader = "x-telegram-bot-api-secret-token"

const digest = (value: string) => createHash("sha256").update(value, "utf8").digest()

/** Whether `given` equals `expected`, in time independent of where they differ (equal-length digests). */
export const secretMatches = (given: string, expected: Redacted.Redacted<string>): boolean =>
  timingSafeEqual(digest(given), digest(Redacted.value(expected)))

class BodyTooLarge extends Schema.TaggedError<BodyTooLarge>()("BodyTooLarge", {}) {}

const decodeUpdate = Schema.decodeUnknownEither(Schema.parseJson(Update), { onExcessProperty: "ignore" })

/** The answer to a webhook request. */
export interface WebhookAnswer {
  readonly status: number
  readonly text: string
  /** Close the connection after the answer (the rest of an oversize body is not read). */
  readonly close?: boolean
}

const plain = (status: number, text: string): WebhookAnswer => ({ status, text })

class BodyUnreadable extends Schema.TaggedError<BodyUnreadable>()("BodyUnreadable", { message: Schema.String }) {}

/**
 * Reads the body as text, failing with `BodyTooLarge` as soon as it passes `limit` bytes; the
 * rest of an oversize body is discarded (not buffered) so that the 413 still reaches the sender.
 */
const readBody = (source: IncomingMessage, limit: number) =>
  Effect.async<string, BodyTooLarge | BodyUnreadable>((resume) => {
    const chunks: Array<Buffer> = []
    let size = 0
    const cleanup = () => {
      source.off("data", onData)
      source.off("end", onEnd)
      source.off("error", onError)
    }
    const onData = (chunk: Buffer) => {
      size += chunk.length
      if (size <= limit) {
        chunks.push(chunk)
        return
      }
      cleanup()
      source.resume()
      resume(Effect.fail(new BodyTooLarge()))
    }
    const onEnd = () => {
      cleanup()
      resume(Effect.succeed(Buffer.concat(chunks).toString("utf8")))
    }
    const onError = (error: Error) => {
      cleanup()
      resume(Effect.fail(new BodyUnreadable({ message: error.message })))
    }
    source.on("data", onData)
    source.on("end", onEnd)
    source.on("error", onError)
    return Effect.sync(cleanup)
  })

const tooLarge = (): WebhookAnswer => ({ status: 413, text: "payload too large", close: true })

/** What POST `WEBHOOK_PATH` does with a request (its headers and body), as described at the top. */
export const makeAcceptUpdate = (config: WebhookConfigShape) =>
  Effect.gen(function*() {
    const intake = yield* Intake
    return (headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>, source: IncomingMessage): Effect.Effect<WebhookAnswer> =>
      Effect.gen(function*() {
        const header = (name: string) => {
          const value = headers[name]
          return typeof value === "string" ? value : undefined
        }
        if (Option.isSome(config.secret)) {
          const given = header(secretHeader)
          if (given === undefined || !secretMatches(given, config.secret.value)) {
            yield* Effect.logWarning("webhook request refused: wrong or missing secret token")
            return plain(401, "unauthorized")
          }
        }
        // Telegram posts JSON: every other declared type is refused before the body is read (a
        // multipart or form body would otherwise meet the platform's own body parsers).
        const contentType = (header("content-type") ?? "").split(";")[0]?.trim().toLowerCase() ?? ""
        if (contentType !== "" && contentType !== "application/json") return plain(415, "expected application/json")
        const declared = Number(header("content-length") ?? "0")
        if (Number.isFinite(declared) && declared > config.maxBodyBytes) return tooLarge()
        const body = yield* readBody(source, config.maxBodyBytes).pipe(Effect.either)
        if (Either.isLeft(body)) {
          return body.left._tag === "BodyTooLarge" ? tooLarge() : plain(400, "unreadable body")
        }
        // Decoding and describing a body nested tens of thousands of levels deep can exhaust the
        // stack: such a body is refused like any other that is not an Update.
        const decoded = yield* Effect.try({
          try: () =>
            Either.mapLeft(decodeUpdate(body.right), (error) => summarizeParseError(error)),
          catch: () => new BodyUnreadable({ message: "too deeply nested" })
        }).pipe(Effect.catchTag("BodyUnreadable", (e) => Effect.succeed(Either.left(e.message))))
        if (Either.isLeft(decoded)) {
          yield* Effect.logWarning(`webhook body is not an Update: ${decoded.left}`)
          return plain(400, "not a Telegram Update")
        }
        const update = decoded.right
        return yield* intake.submit({ json: body.right, update }).pipe(
          Effect.as(plain(200, "ok")),
          Effect.catchTags({
            IntakeClosed: () => Effect.succeed(plain(503, "shutting down")),
            // Not recorded: Telegram delivers it again.
            // A store that is down is logged once by its breaker, not once per refused delivery.
            StoreError: (error) =>
              Effect.as(
                (error.retryable ? Effect.logDebug : Effect.logError)(`update not recorded, Telegram will retry: ${error.message}`),
                plain(500, "not recorded")
              )
          }),
          annotateLogs({ update_id: update.update_id })
        )
      }).pipe(withSpan("telegram.webhook"))
  })

