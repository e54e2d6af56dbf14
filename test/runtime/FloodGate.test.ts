/**
 * The flood gate on its own: a token bucket per user, driven by the times passed in (no
 * clock, no effects).
 */
import { describe, expect, it } from "@effect/vitest"
import { Duration } from "effect"
import { type Admission, makeFloodGate } from "../../src/runtime/FloodGate.ts"

const options = { burst: 3, refill: Duration.seconds(1), noticeInterval: Duration.minutes(1) }

const admitMany = (admit: (userId: number, now: number) => Admission, userId: number, now: number, n: number) =>
  Array.from({ length: n }, () => admit(userId, now))

describe("FloodGate", () => {
  it("allows the burst, then drops with one notice per window", () => {
    const gate = makeFloodGate(options)
    expect(admitMany(gate.admit, 1, 0, 6)).toEqual(["Allowed", "Allowed", "Allowed", "DroppedWithNotice", "Dropped", "Dropped"])
  })

  it("refills one token per refill interval, up to the burst", () => {
    const gate = makeFloodGate(options)
    admitMany(gate.admit, 1, 0, 4)
    // Half an interval later: still no whole token.
    expect(gate.admit(1, 500)).toBe("Dropped")
    // One interval after the burst: one whole token (a half token is kept, not lost).
    expect(gate.admit(1, 1_000)).toBe("Allowed")
    expect(gate.admit(1, 1_000)).toBe("Dropped")
    // Long idle: the bucket is full again, never more than the burst.
    expect(admitMany(gate.admit, 1, 100_000, 4)).toEqual(["Allowed", "Allowed", "Allowed", "DroppedWithNotice"])
  })

  it("tells a user again only once the notice interval has passed", () => {
    const gate = makeFloodGate(options)
    expect(admitMany(gate.admit, 1, 0, 4).at(-1)).toBe("DroppedWithNotice")
    // 30 s later: the bucket refilled, a second flood in the same window gets no notice.
    expect(admitMany(gate.admit, 1, 30_000, 4)).toEqual(["Allowed", "Allowed", "Allowed", "Dropped"])
    // A minute after the first notice: told again.
    expect(admitMany(gate.admit, 1, 60_000, 4)).toEqual(["Allowed", "Allowed", "Allowed", "DroppedWithNotice"])
  })

  it("keeps users apart", () => {
    const gate = makeFloodGate(options)
    admitMany(gate.admit, 1, 0, 5)
    expect(gate.admit(2, 0)).toBe("Allowed")
  })

  it("a burst of 0 turns flood protection off", () => {
    const gate = makeFloodGate({ ...options, burst: 0 })
    expect(new Set(admitMany(gate.admit, 1, 0, 100))).toEqual(new Set(["Allowed"]))
    expect(gate.size()).toBe(0)
  })

  it("above the soft cap drops idle buckets, keeps busy ones and ones inside their notice window", () => {
    const gate = makeFloodGate({ ...options, softCap: 3 })
    gate.admit(1, 0) // idle by 10 s: dropped
    admitMany(gate.admit, 2, 0, 4) // flooded, notice at 0: kept until the window ends
    gate.admit(3, 9_000) // busy (not refilled yet): kept
    expect(gate.size()).toBe(3)
    gate.admit(4, 10_000)
    expect(gate.size()).toBe(3)
    // User 2's bucket survived: no second notice inside the window.
    expect(admitMany(gate.admit, 2, 10_000, 4)).toEqual(["Allowed", "Allowed", "Allowed", "Dropped"])
    // Past the window every bucket is idle: the next new user sweeps them.
    gate.admit(5, 200_000)
    expect(gate.size()).toBe(1)
  })
})
