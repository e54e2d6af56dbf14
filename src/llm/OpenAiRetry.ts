/**
 * The one retry policy of the live model, and which failures of the `openai` SDK it retries:
 * 408, 409, 429, 5xx, timeouts and connection errors are retried, waiting what
 * `retry-after-ms` / `retry-after` ask (capped) or backing off exponentially with jitter.
 */
import OpenAI from "openai"
import { Data, Duration, Effect, Option, Schedule } from "effect"

/** One failed HTTP attempt; retried by the schedule when `retryable`. */
export class ModelCallFailed extends Data.TaggedError("ModelCallFailed")<{
  readonly message: string
  readonly retryable: boolean
  readonly status: Option.Option<number>
  readonly retryAfter: Option.Option<Duration.Duration>
}> {}

const readHeader = (headers: unknown, name: string): string | undefined =>
  headers instanceof Headers ? headers.get(name) ?? undefined : undefined

/**
 * What an endpoint asked us to wait: `retry-after-ms` (milliseconds), else `retry-after`
 * (seconds or an HTTP date). Nonsense and negative values count as not given.
 */
export const retryAfterFrom = (headers: unknown, now: number): Option.Option<Duration.Duration> => {
  const ms = readHeader(headers, "retry-after-ms")
  if (ms !== undefined && /^\s*\d+(\.\d+)?\s*$/.test(ms)) return Option.some(Duration.millis(Number(ms)))
  const after = readHeader(headers, "retry-after")
  if (after === undefined) return Option.none()
  if (/^\s*\d+(\.\d+)?\s*$/.test(after)) return Option.some(Duration.millis(Number(after) * 1000))
  // An HTTP date names its weekday and month; anything else (e.g. "-5") is not one.
  const date = /[a-z]{3}/i.test(after) ? Date.parse(after) : Number.NaN
  if (Number.isNaN(date)) return Option.none()
  return Option.some(Duration.millis(Math.max(0, date - now)))
}

export interface RetryPolicy {
  readonly maxRetries: number
  readonly backoffBase: Duration.Duration
  readonly retryAfterCap: Duration.Duration
  /** A failure that asks to wait longer than `retryAfterCap` ends the retries (there is a fallback). */
  readonly failOverOnLongWait?: boolean
}

/** Whether the endpoint asked to wait longer than the policy waits (a 429 with a long retry-after). */
export const asksLongWait = (failure: ModelCallFailed, policy: RetryPolicy): boolean =>
  Option.exists(failure.retryAfter, (wait) => Duration.greaterThan(wait, policy.retryAfterCap))

/**
 * The one retry policy of model calls: only retryable failures, at most `maxRetries` times;
 * the wait is what the endpoint asked (at most `retryAfterCap`), else exponential backoff from
 * `backoffBase` with jitter (also at most `retryAfterCap`). With `failOverOnLongWait`, a
 * failure asking for more than `retryAfterCap` is not retried.
 */
export const retrySchedule = (policy: RetryPolicy) =>
  Schedule.identity<ModelCallFailed>().pipe(
    Schedule.intersect(Schedule.jittered(Schedule.exponential(policy.backoffBase, 2))),
    Schedule.intersect(Schedule.recurs(policy.maxRetries)),
    Schedule.whileInput((failure: ModelCallFailed) =>
      failure.retryable && !(policy.failOverOnLongWait === true && asksLongWait(failure, policy))
    ),
    Schedule.modifyDelay(([[failure]], backoff) =>
      Duration.min(Option.getOrElse(failure.retryAfter, () => backoff), policy.retryAfterCap)
    )
  )

const causeChain = (error: unknown): string => {
  const parts: Array<string> = []
  let current: unknown = error
  for (let depth = 0; depth < 4 && current instanceof Error; depth++) {
    const code = "code" in current && typeof current.code === "string" ? ` (${current.code})` : ""
    parts.push(`${current.message}${code}`)
    current = current.cause
  }
  return parts.join(": ") || String(error)
}

/**
 * Whether a failure means the endpoint is down (no connection, no answer in time, a 408 or a
 * 5xx) rather than busy (429, 409) or refusing the request: a turn waits it out (`effect/Breaker.ts`).
 */
export const isOutage = (failure: ModelCallFailed): boolean =>
  failure.retryable && Option.match(failure.status, { onNone: () => true, onSome: (s) => s === 408 || s >= 500 })

const retryableStatus = (status: number) => status === 408 || status === 409 || status === 429 || status >= 500

/** A thrown SDK error as a failure: retryable or not, with its status and retry-after. */
export const failureOf = (error: unknown, now: number): ModelCallFailed => {
  const none = { status: Option.none<number>(), retryAfter: Option.none<Duration.Duration>() }
  if (error instanceof OpenAI.APIUserAbortError) {
    return new ModelCallFailed({ message: "request aborted", retryable: false, ...none })
  }
  if (error instanceof OpenAI.APIConnectionTimeoutError) {
    return new ModelCallFailed({ message: "request timed out", retryable: true, ...none })
  }
  if (error instanceof OpenAI.APIConnectionError) {
    return new ModelCallFailed({ message: `connection failed: ${causeChain(error.cause ?? error)}`, retryable: true, ...none })
  }
  if (error instanceof OpenAI.APIError && typeof error.status === "number") {
    return new ModelCallFailed({
      message: `HTTP ${error.status}: ${error.message}`,
      retryable: retryableStatus(error.status),
      status: Option.some(error.status),
      retryAfter: retryAfterFrom(error.headers, now)
    })
  }
  return new ModelCallFailed({ message: `unreadable response: ${causeChain(error)}`, retryable: false, ...none })
}

/** The failure of an attempt that got no answer in time (retryable). */
export const noAnswerWithin = (timeoutMs: number): ModelCallFailed =>
  new ModelCallFailed({
    message: `no answer within ${timeoutMs} ms`,
    retryable: true,
    status: Option.none(),
    retryAfter: Option.none()
  })

/**
 * One request of the SDK with its deadline. `request` gets a signal that aborts it when the
 * deadline passes (the attempt fails with `noAnswerWithin`) or the fiber is interrupted.
 * The deadline is a timer of the attempt: `Effect.timeoutFail` would race the request against
 * a second fiber on every call (two fibers per model call; issue 15).
 */
export const sdkAttempt = <A>(
  timeoutMs: number,
  request: (signal: AbortSignal) => Promise<A>
): Effect.Effect<A, ModelCallFailed> =>
  Effect.async<A, ModelCallFailed>((resume) => {
    const controller = new AbortController()
    let done = false
    const finish = (result: Effect.Effect<A, ModelCallFailed>) => {
      if (done) return
      done = true
      clearTimeout(timer)
      resume(result)
    }
    const timer = setTimeout(() => {
      finish(Effect.fail(noAnswerWithin(timeoutMs)))
      controller.abort()
    }, Math.min(timeoutMs, 2_147_483_647))
    request(controller.signal).then(
      (value) => finish(Effect.succeed(value)),
      (error: unknown) => finish(Effect.fail(failureOf(error, Date.now())))
    )
    return Effect.sync(() => {
      done = true
      clearTimeout(timer)
      controller.abort()
    })
  })
