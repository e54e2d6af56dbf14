/**
 * Long polling: getUpdates in a loop, each update handed to the intake.
 *
 * The offset only moves past an update once the dispatcher has recorded it in the inbox, so
 * an update is confirmed to Telegram only when it is durable; on start the poller resumes
 * after the inbox's last update_id. An element of getUpdates' result that is not a valid
 * Update is logged, kept in the inbox as failed (its JSON is not lost) and skipped. Errors back
 * off exponentially (a 429 waits its retry_after); a 409 — a webhook is set, or another
 * process polls with the same token — stops the poller with an error saying what to do.
 */
import { Duration, Effect, Option, Schedule, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"
import { Intake } from "./Intake.ts"
import { Inbox } from "../store/Inbox.ts"
import { type PolledUpdate, TelegramApi, type TelegramApiError, type TelegramError } from "./TelegramApi.ts"
import { PollConfig, type PollConfigShape } from "./TelegramConfig.ts"

/** Telegram refuses getUpdates for this bot: a webhook is set, or another poller runs. */
export class PollingConflict extends Schema.TaggedError<PollingConflict>()("PollingConflict", {
  description: Schema.String,
  webhookActive: Schema.Boolean
}) {
  override get message(): string {
    return this.webhookActive
      ? `Telegram refuses getUpdates while a webhook is set (${this.description}). ` +
        "Run `dialog-bot webhook delete` or start with `dialog-bot poll --drop-webhook`, or run the webhook server (`dialog-bot serve`) instead."
      : `Telegram refuses getUpdates: another process is polling with the same token (${this.description}). ` +
        "Stop the other poller; only one process may poll a bot at a time."
  }
}

/** Telegram refused getUpdates for a reason retrying cannot fix (e.g. a revoked token). */
export class PollingRefused extends Schema.TaggedError<PollingRefused>()("PollingRefused", {
  errorCode: Schema.Number,
  description: Schema.String
}) {
  override get message(): string {
    return this.errorCode === 401
      ? `Telegram refuses the bot token (401 ${this.description}): check TELEGRAM_BOT_TOKEN.`
      : `Telegram refused getUpdates (${this.errorCode} ${this.description}).`
  }
}

export type PollerError = PollingConflict | PollingRefused | TelegramError

type IterationError = TelegramError | StoreError

export interface PollerOptions {
  /** Delete a webhook first (polling is refused while one is set). */
  readonly dropWebhook?: boolean
}

const isRetryable = (error: IterationError): boolean =>
  error._tag === "StoreError" ||
  error._tag === "TelegramTransportError" ||
  (error._tag === "TelegramApiError" && (error.errorCode === 429 || error.errorCode >= 500))

/** The retry policy of the poll loop: exponential with jitter up to `backoffMax`, for ever; a 429 waits its retry_after. */
const pollRetry = (config: PollConfigShape) =>
  Schedule.exponential(config.backoffBase, 2).pipe(
    Schedule.jittered,
    Schedule.modifyDelay((delay) => Duration.min(delay, config.backoffMax)),
    Schedule.zipRight(Schedule.identity<IterationError>()),
    Schedule.whileInput(isRetryable),
    Schedule.modifyDelay((error, delay) =>
      error._tag === "TelegramApiError" && error.errorCode === 429
        ? Duration.max(delay, Duration.seconds(error.retryAfter ?? 1))
        : delay
    ),
    Schedule.tapOutput((error) => Effect.logWarning(`polling failed, backing off: ${error.message}`))
  )

const final = (error: TelegramApiError): PollingConflict | PollingRefused =>
  error.errorCode === 409
    ? new PollingConflict({ description: error.description, webhookActive: /webhook/i.test(error.description) })
    : new PollingRefused({ errorCode: error.errorCode, description: error.description })

/**
 * Polls until interrupted (or the dispatcher stops taking updates). Fails with
 * `PollingConflict` on a 409 and `PollingRefused` on another final 4xx.
 */
export const runPoller = (options: PollerOptions = {}) =>
  Effect.gen(function*() {
    const api = yield* TelegramApi
    const intake = yield* Intake
    const inbox = yield* Inbox
    const config = yield* PollConfig

    if (options.dropWebhook === true) {
      yield* api.deleteWebhook(false)
      yield* Effect.logInfo("webhook deleted; pending updates are kept and will be polled")
    }

    const last = yield* inbox.lastUpdateId.pipe(Effect.retry(pollRetry(config)))
    let offset: number | undefined = last === undefined ? undefined : last + 1
    let stopped = false
    yield* Effect.logInfo(
      `polling for updates${offset === undefined ? "" : ` from update_id ${offset}`} (long-poll ${config.timeoutSeconds} s)`
    )

    const advance = (updateId: number) => {
      if (offset === undefined || updateId + 1 > offset) offset = updateId + 1
    }

    /** An update that is not valid: kept in the inbox as failed, then skipped. */
    const keepUndecodable = (polled: Extract<PolledUpdate, { _tag: "Undecodable" }>) =>
      Effect.gen(function*() {
        yield* Effect.logWarning(`skipping an update that is not a valid Update: ${polled.reason}`).pipe(
          Effect.annotateLogs("update_id", polled.updateId ?? "none")
        )
        const updateId = polled.updateId
        if (updateId === undefined || !Number.isSafeInteger(updateId)) return
        const recorded = yield* inbox.record({ updateId: updateId as TelegramId, payload: polled.json })
        if (recorded === "New") yield* inbox.markFailed(updateId as TelegramId, `undecodable: ${polled.reason.slice(0, 200)}`)
        advance(updateId)
      })

    const iteration = Effect.gen(function*() {
      const batch = yield* api.getUpdates({
        offset,
        limit: config.limit,
        timeout: config.timeoutSeconds,
        allowedUpdates: Option.getOrUndefined(config.allowedUpdates)
      })
      for (const polled of batch) {
        if (polled._tag === "Undecodable") {
          yield* keepUndecodable(polled)
          continue
        }
        const submitted = yield* intake.submit(polled).pipe(
          Effect.map(() => true),
          Effect.catchTag("IntakeClosed", () => Effect.succeed(false))
        )
        if (!submitted) {
          stopped = true
          return
        }
        advance(polled.update.update_id)
      }
    })

    while (!stopped) {
      yield* iteration.pipe(
        Effect.retry(pollRetry(config)),
        Effect.catchTag("TelegramApiError", (error) => Effect.fail(final(error)))
      )
    }
    yield* Effect.logInfo("polling stopped: the dispatcher takes no more updates")
  }).pipe(Effect.withSpan("telegram.poller"))
