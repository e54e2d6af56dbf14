/**
 * A fixed clock for replays. Time is the one input of the offline model that changes between
 * runs (`get_current_time`): `withFixedClock` pins effect's `Clock` to one instant so that a
 * replay gives the same transcript every time.
 */
import { Clock, Effect } from "effect"
import { ConfigurationError } from "../domain/errors.ts"

/**
 * A clock that always reads `millis` and sleeps on `base`, so timeouts and deadlines still work
 * while every reading of the time gives the same instant.
 */
export const fixedClock = (millis: number, base: Clock.Clock): Clock.Clock => ({
  [Clock.ClockTypeId]: Clock.ClockTypeId,
  unsafeCurrentTimeMillis: () => millis,
  currentTimeMillis: Effect.succeed(millis),
  unsafeCurrentTimeNanos: () => BigInt(millis) * 1_000_000n,
  currentTimeNanos: Effect.succeed(BigInt(millis) * 1_000_000n),
  sleep: (duration) => base.sleep(duration)
})

/** Runs an effect — and every fiber it starts — with the time fixed at `millis`. */
export const withFixedClock = (millis: number) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.clockWith((base) => Effect.withClock(effect, fixedClock(millis, base)))

/** Parses the `--clock` / `REPLAY_CLOCK` value: an ISO 8601 date-time. */
export const parseClock = (value: string, source = "--clock"): Effect.Effect<number, ConfigurationError> => {
  const trimmed = value.trim()
  const millis = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(trimmed) ? Date.parse(trimmed) : Number.NaN
  return Number.isNaN(millis)
    ? Effect.fail(
      new ConfigurationError({ source, message: `expected an ISO 8601 date-time such as 2026-01-15T10:00:00Z, got "${value}"` })
    )
    : Effect.succeed(millis)
}
