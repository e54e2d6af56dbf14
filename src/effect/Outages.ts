/**
 * The bot's dependencies that may go down for a while, one breaker each (`Breaker.ts`), and
 * how long a turn waits for them (`OUTAGE_PATIENCE`, longer than any call's own retries): the
 * store, the model endpoint and the Bot API. A patience of 0 waits for none of them.
 */
import { Context, Duration, Effect, Layer } from "effect"
import { type Breaker, type BreakerOptions, defaultBreakerOptions, makeBreaker } from "./Breaker.ts"

export interface OutagesService {
  /** How long a turn waits for a dependency that is down before the apology. */
  readonly patience: Duration.Duration
  readonly store: Breaker
  readonly model: Breaker
  readonly telegram: Breaker
  /** The breaker of a dependency by its name (`PatienceCell.gaveUp`). */
  readonly breaker: (name: string) => Breaker | undefined
}

export class Outages extends Context.Tag("dialog-bot/Outages")<Outages, OutagesService>() {}

/**
 * A breaker that is never open: every call goes to its dependency and fails as it fails. With a
 * patience of 0 nothing is waited out (the bot as it was before the breakers).
 */
const passThrough = (name: string): Breaker => ({
  name,
  guard: (effect) => effect,
  isDown: Effect.succeed(false),
  awaitUp: Effect.void
})

export const makeOutages = (
  patience: Duration.DurationInput,
  options: BreakerOptions = defaultBreakerOptions
): Effect.Effect<OutagesService> =>
  Effect.gen(function*() {
    const waits = !Duration.isZero(Duration.decode(patience))
    const breakerOf = (name: string) => waits ? makeBreaker(name, options) : Effect.succeed(passThrough(name))
    const store = yield* breakerOf("store")
    const model = yield* breakerOf("model")
    const telegram = yield* breakerOf("telegram")
    const all = new Map([store, model, telegram].map((b) => [b.name, b]))
    return { patience: Duration.decode(patience), store, model, telegram, breaker: (name) => all.get(name) }
  })

/** The dependencies' breakers with a turn's patience of `patience`. */
export const OutagesWith = (patience: Duration.DurationInput, options?: BreakerOptions): Layer.Layer<Outages> =>
  Layer.effect(Outages, makeOutages(patience, options))
