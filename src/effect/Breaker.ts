/**
 * Waiting out a dependency that is down (the store, the model endpoint, the Bot API) instead of
 * apologising at the first failed call.
 *
 * A breaker per dependency counts consecutive outage failures (a connection refused, a timeout,
 * a 5xx: what the caller's `isOutage` says; a bad request or a refused content is an answer, not
 * an outage). After `threshold` of them it opens and logs one line; while it is open, one call
 * at a time is the probe (the first one due, after a backoff from `probeBase` doubling up to
 * `probeMax`) and every other waiting call waits for the probe's result instead of trying
 * itself. The first call that gets an answer closes it and logs one line with how many turns
 * waited.
 *
 * Who waits is the turn: the update runner gives each turn a `PatienceCell` (`CurrentPatience`).
 * A call inside a turn waits out an outage until the turn's patience (`OUTAGE_PATIENCE`, counted
 * from the turn's first outage failure) is spent; then it fails with its last failure and the
 * cell names the dependency it gave up on. A call outside a turn (an intake's record) does not
 * wait: while the breaker is open and no probe is due it fails at once with the caller's `down`
 * failure, without reaching the dependency.
 *
 * A guarded call made inside another guarded call on the same breaker (a store call that runs
 * another store call within it, as the usage ledger's `recordTurn` runs the reply's history
 * append; the outer call says so with `nests`) does not wait while the breaker is open: it runs,
 * and the outer call is the one that retries, probes and waits — the inner one waiting on the
 * outer call's probe would wait on itself.
 */
import { Cause, Clock, Deferred, Duration, Effect, FiberId, FiberRef, Option, Schema } from "effect"

/** A turn's patience with the dependencies it calls. */
export interface PatienceCell {
  /** How long the turn waits for a dependency that is down, from its first outage failure. */
  readonly patience: Duration.Duration
  /** When the turn first met an outage (epoch millis); undefined while it has not. */
  waitingSince: number | undefined
  /** The dependency the turn gave up on once its patience was spent. */
  gaveUp: string | undefined
  /** The dependencies the turn waited for, in all its runs. */
  readonly waitedFor: Set<string>
}

/** The patience of the running turn; undefined outside a turn (calls do not wait). */
export const CurrentPatience: FiberRef.FiberRef<PatienceCell | undefined> = FiberRef.unsafeMake<PatienceCell | undefined>(
  undefined
)

/** The breakers the current fiber is inside the guard of (their guarded calls pass through). */
const EnteredBreakers: FiberRef.FiberRef<ReadonlySet<symbol>> = FiberRef.unsafeMake<ReadonlySet<symbol>>(new Set())

export const makePatience = (patience: Duration.Duration): PatienceCell => ({
  patience,
  waitingSince: undefined,
  gaveUp: undefined,
  waitedFor: new Set()
})

/** Starts the turn's patience again (a run after the dependency came back). */
export const restartPatience = (cell: PatienceCell): void => {
  cell.waitingSince = undefined
  cell.gaveUp = undefined
}

export interface BreakerOptions {
  /** Consecutive outage failures that open the breaker. */
  readonly threshold: number
  /** The first wait before a probe (and between a waiting call's own retries); doubles each time. */
  readonly probeBase: Duration.Duration
  /** The longest wait between probes. */
  readonly probeMax: Duration.Duration
  /** What is done meanwhile, in the line logged when it goes down; "waiting for it" by default. */
  readonly meanwhile?: string
}

export const defaultBreakerOptions: BreakerOptions = {
  threshold: 3,
  probeBase: Duration.millis(250),
  probeMax: Duration.seconds(5)
}

export interface GuardOptions<E> {
  /** Whether a failure means the dependency is down (waited out) rather than an answer. */
  readonly isOutage: (error: E) => boolean
  /** The failure of a call refused without trying, while the dependency is down. */
  readonly down: () => E
  /**
   * The call makes guarded calls of its own on the same breaker (they pass through). Only
   * such calls are marked: the mark costs a fiber-local copy per call, on every store call.
   */
  readonly nests?: boolean
}

export interface Breaker {
  /** The dependency's name in logs and in `PatienceCell.gaveUp` (`store`, `model`, `telegram`). */
  readonly name: string
  /** `effect` through the breaker: outage failures are waited out for the turn's patience. */
  readonly guard: <A, E, R>(effect: Effect.Effect<A, E, R>, options: GuardOptions<E>) => Effect.Effect<A, E, R>
  /** Whether the breaker is open (the dependency is down). */
  readonly isDown: Effect.Effect<boolean>
  /** Completes once the dependency answers again (at once while it is up). */
  readonly awaitUp: Effect.Effect<void>
}

const doubled = (options: BreakerOptions, step: number): Duration.Duration =>
  Duration.min(Duration.times(options.probeBase, 2 ** Math.min(step, 20)), options.probeMax)

/** A breaker for `name`. */
export const makeBreaker = (name: string, options: BreakerOptions = defaultBreakerOptions): Effect.Effect<Breaker> =>
  Effect.sync(() => {
    /** This breaker in `EnteredBreakers`. */
    const self = Symbol(name)
    const enter = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.locallyWith(effect, EnteredBreakers, (entered) => new Set(entered).add(self))
    let failures = 0
    let open = false
    let openedAt = 0
    /** Probes that failed in this outage: the backoff before the next one. */
    let probes = 0
    let nextProbeAt = 0
    /** The result of the probe in flight: completed when it ends, whatever it found. */
    let probe: Deferred.Deferred<void> | undefined
    /** Completed when the dependency is back; a new one each time it goes down. */
    let back = Deferred.unsafeMake<void>(FiberId.none)
    Deferred.unsafeDone(back, Effect.void)
    /** The turns that waited in this outage. */
    let waiters = new Set<PatienceCell>()

    const answered = Effect.suspend(() => {
      failures = 0
      if (!open) return Effect.void
      open = false
      const waited = waiters.size
      waiters = new Set()
      const downFor = Effect.map(Clock.currentTimeMillis, (now) => now - openedAt)
      return Effect.flatMap(downFor, (ms) =>
        Effect.zipRight(
          Deferred.succeed(back, undefined),
          Effect.logInfo(`${name} is back after ${Duration.format(Duration.millis(ms))}, ${waited} turns waited for it`).pipe(
            Effect.annotateLogs({ dependency: name, down_ms: ms, turns_waited: waited })
          )
        ))
    })

    const failed = (message: string) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        Effect.suspend(() => {
          failures++
          if (open) {
            probes++
            nextProbeAt = now + Duration.toMillis(doubled(options, probes))
            return Effect.void
          }
          if (failures < options.threshold) return Effect.void
          open = true
          openedAt = now
          probes = 0
          nextProbeAt = now + Duration.toMillis(options.probeBase)
          back = Deferred.unsafeMake<void>(FiberId.none)
          return Effect.logWarning(`${name} is down, ${options.meanwhile ?? "waiting for it"}: ${message}`).pipe(Effect.annotateLogs({ dependency: name }))
        }))

    /** One call with its result recorded; every answer (a refusal too) means the dependency is up. */
    const attempt = <A, E, R>(effect: Effect.Effect<A, E, R>, guard: GuardOptions<E>) =>
      (guard.nests === true ? enter(effect) : effect).pipe(
        Effect.tapBoth({
          onSuccess: () => answered,
          onFailure: (e) => (guard.isOutage(e) ? failed(e instanceof Error ? e.message : String(e)) : answered)
        }),
        Effect.either
      )

    /** Runs `effect` as the probe: the other waiting calls wait for its result. */
    const asProbe = <A, E, R>(effect: Effect.Effect<A, E, R>, guard: GuardOptions<E>) =>
      Effect.suspend(() => {
        const result = Deferred.unsafeMake<void>(FiberId.none)
        probe = result
        return attempt(effect, guard).pipe(
          Effect.ensuring(Effect.suspend(() => {
            if (probe === result) probe = undefined
            return Deferred.succeed(result, undefined)
          }))
        )
      })

    /**
     * The call through the breaker in full: the patience, the probe, the waits. `first` is the
     * outage failure of a try the fast path (`guard`) made already.
     */
    const guarded = <A, E, R>(
      effect: Effect.Effect<A, E, R>,
      guardOptions: GuardOptions<E>,
      first: Option.Option<E>
    ): Effect.Effect<A, E, R> =>
      Effect.gen(function*() {
        const cell = yield* FiberRef.get(CurrentPatience)
        const patient = cell !== undefined && cell.gaveUp === undefined
        let last = first
        let ownRetries = 0
        const giveUp = () => {
          if (cell !== undefined) cell.gaveUp = name
          return Effect.fail(Option.getOrElse(last, guardOptions.down))
        }
        if (Option.isSome(first)) {
          // As the loop goes on after a try that met an outage.
          if (!patient) return yield* Effect.fail(first.value)
          cell.waitingSince ??= yield* Clock.currentTimeMillis
          cell.waitedFor.add(name)
          if (!open) yield* Effect.sleep(doubled(options, ownRetries++))
        }
        for (;;) {
          const now = yield* Clock.currentTimeMillis
          if (patient && cell.waitingSince !== undefined && now - cell.waitingSince >= Duration.toMillis(cell.patience)) {
            return yield* giveUp()
          }
          const due = open && probe === undefined && now >= nextProbeAt
          if (open && !due) {
            // Inside a call of this breaker (maybe its probe): waiting here would wait on that call.
            if ((yield* FiberRef.get(EnteredBreakers)).has(self)) return yield* effect
            if (!patient) return yield* Effect.fail(guardOptions.down())
            cell.waitingSince ??= now
            cell.waitedFor.add(name)
            waiters.add(cell)
            // The probe's result, or the time of the next probe, whichever comes first; never past the patience.
            const left = Duration.toMillis(cell.patience) - (now - cell.waitingSince)
            const until = probe === undefined ? Effect.sleep(Duration.millis(Math.max(0, nextProbeAt - now))) : Deferred.await(probe)
            yield* Effect.raceFirst(until, Effect.sleep(Duration.millis(left)))
            continue
          }
          const result = yield* (due ? asProbe(effect, guardOptions) : attempt(effect, guardOptions))
          if (result._tag === "Right") return result.right
          if (!guardOptions.isOutage(result.left)) return yield* Effect.fail(result.left)
          last = Option.some(result.left)
          if (!patient) return yield* Effect.fail(result.left)
          cell.waitingSince ??= now
          cell.waitedFor.add(name)
          if (!open) {
            // Not (yet) known to be down: the call's own retry after a short backoff.
            yield* Effect.sleep(doubled(options, ownRetries++))
          }
        }
      })

    /**
     * The usual case in a few runtime steps: the dependency is up and the turn has met no outage,
     * so the call is tried at once and its answer recorded. Anything else (the breaker open, the
     * turn already waiting, this try meeting an outage) goes on through `guarded`.
     */
    const guard = <A, E, R>(effect: Effect.Effect<A, E, R>, guardOptions: GuardOptions<E>): Effect.Effect<A, E, R> =>
      Effect.withFiberRuntime<A, E, R>((fiber) => {
        const cell = fiber.getFiberRef(CurrentPatience)
        if (open || cell?.waitingSince !== undefined) return guarded(effect, guardOptions, Option.none())
        return Effect.matchCauseEffect(guardOptions.nests === true ? enter(effect) : effect, {
          onSuccess: (a) => {
            if (open) return Effect.as(answered, a)
            failures = 0
            return Effect.succeed(a)
          },
          onFailure: (cause) => {
            const failure = Cause.failureOption(cause)
            // A defect or an interruption is not an answer of the dependency: it goes on as it is.
            if (Option.isNone(failure) || Cause.isDie(cause)) return Effect.failCause(cause)
            const e = failure.value
            if (!guardOptions.isOutage(e)) return Effect.zipRight(answered, Effect.fail(e))
            return Effect.zipRight(failed(e instanceof Error ? e.message : String(e)), guarded(effect, guardOptions, failure))
          }
        })
      })

    return {
      name,
      guard,
      isDown: Effect.sync(() => open),
      awaitUp: Effect.suspend(() => Deferred.await(back))
    } satisfies Breaker
  })

/** A dependency stayed down past the turn's patience: the turn ends with the apology and runs again once it is back. */
export class DependencyDown extends Schema.TaggedError<DependencyDown>()("DependencyDown", {
  dependency: Schema.String,
  message: Schema.String
}) {}
