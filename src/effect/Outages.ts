/**
 * The bot's dependencies that may go down for a while, one breaker each (`Breaker.ts`), and
 * how long a turn waits for them (`OUTAGE_PATIENCE`, longer than any call's own retries): the
 * store, the model endpoint and the Bot API.
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

export const makeOutages = (
  patience: Duration.DurationInput,
  options: BreakerOptions = defaultBreakerOptions
): Effect.Effect<OutagesService> =>
  Effect.gen(function*() {
    const store = yield* makeBreaker("store", options)
    const model = yield* makeBreaker("model", options)
    const telegram = yield* makeBreaker("telegram", options)
    const all = new Map([store, model, telegram].map((b) => [b.name, b]))
    return { patience: Duration.decode(patience), store, model, telegram, breaker: (name) => all.get(name) }
  })

/** The dependencies' breakers with a turn's patience of `patience`. */
export const OutagesWith = (patience: Duration.DurationInput, options?: BreakerOptions): Layer.Layer<Outages> =>
  Layer.effect(Outages, makeOutages(patience, options))
