/**
 * Flood protection: a token bucket per user and conversation, checked at intake. A user may send `burst`
 * messages at once and one more per `refill`; beyond that their updates are dropped, and the
 * user is told so at most once per `noticeInterval`.
 *
 * The gate is plain synchronous state (no effects): the caller passes the current time, so it
 * runs the same under the live clock and the test clock.
 */
import { Duration } from "effect"

/** What the gate decided about one update. */
export type Admission = "Allowed" | "DroppedWithNotice" | "Dropped"

export interface FloodGateOptions {
  /** Messages a user may send at once (the bucket's size); 0 turns flood protection off. */
  readonly burst: number
  /** One more message is allowed per this interval (the bucket's refill). */
  readonly refill: Duration.DurationInput
  /** A user is told they are too fast at most once per this window. */
  readonly noticeInterval: Duration.DurationInput
  /** Buckets kept before the full (idle) ones are dropped; 10,000 unless given. */
  readonly softCap?: number
}

export interface FloodGate {
  /**
   * Takes a token from the bucket of `key` (a user, or a user in a conversation) at `now`
   * (epoch millis): `Allowed`, or dropped with whether the user should be told
   * (`DroppedWithNotice`, once per notice interval).
   */
  readonly admit: (key: number | string, now: number) => Admission
  /** Buckets held right now. */
  readonly size: () => number
}

/** One user's token bucket. */
interface Bucket {
  tokens: number
  updatedAt: number
  noticeAt: number
}

/** Buckets kept before the full (idle) ones are dropped. */
export const bucketSoftCap = 10_000

/** A new gate with no buckets. */
export const makeFloodGate = (options: FloodGateOptions): FloodGate => {
  const burst = options.burst
  const refillMs = Math.max(1, Duration.toMillis(options.refill))
  const noticeMs = Duration.toMillis(options.noticeInterval)
  const softCap = options.softCap ?? bucketSoftCap
  const buckets = new Map<number | string, Bucket>()

  /** Above the soft cap, drops the buckets that are full again and past their notice window. */
  const sweep = (now: number) => {
    const idleMs = refillMs * burst
    for (const [id, b] of buckets) {
      if (now - b.updatedAt >= idleMs && now - b.noticeAt >= noticeMs) buckets.delete(id)
    }
  }

  const admit = (key: number | string, now: number): Admission => {
    if (burst <= 0) return "Allowed"
    let bucket = buckets.get(key)
    if (bucket === undefined) {
      if (buckets.size >= softCap) sweep(now)
      bucket = { tokens: burst, updatedAt: now, noticeAt: Number.NEGATIVE_INFINITY }
      buckets.set(key, bucket)
    }
    bucket.tokens = Math.min(burst, bucket.tokens + (now - bucket.updatedAt) / refillMs)
    bucket.updatedAt = now
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1
      return "Allowed"
    }
    if (now - bucket.noticeAt >= noticeMs) {
      bucket.noticeAt = now
      return "DroppedWithNotice"
    }
    return "Dropped"
  }

  return { admit, size: () => buckets.size }
}
