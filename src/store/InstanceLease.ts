/**
 * The single-instance lease: a process that is not one replica of a cluster holds it in its
 * store while it runs, so that a second process on the same SQLite file or PostgreSQL database
 * refuses to start instead of re-running the other's pending updates and answering them twice.
 *
 * The lease is one row: its holder (`pid@host#nonce`) and when it expires. The holder renews it
 * while it runs and deletes it when it stops; a holder that dies leaves a row that expires. A
 * restart on the same host does not wait for that: a holder whose process is gone (or was an
 * earlier process with this one's pid, as in a container) is taken over at once.
 */
import { randomUUID } from "node:crypto"
import { hostname } from "node:os"
import { Clock, Context, Duration, Effect, Either, Layer, Option, Schedule } from "effect"
import { StoreError } from "../domain/errors.ts"

/** Who holds the lease, and until when (epoch milliseconds of the store's clock). */
export interface LeaseHolder {
  readonly holder: string
  readonly expiresAt: number
}

export interface InstanceLeaseService {
  /**
   * Takes the lease for `holder` until `ttl` from now when it is free, expired or already
   * `holder`'s (`None`); otherwise leaves it and returns who holds it.
   */
  readonly acquire: (holder: string, ttl: Duration.Duration) => Effect.Effect<Option.Option<LeaseHolder>, StoreError>
  /** Takes the lease from `previous` (still its holder), whatever its expiry; `false` if someone else got it first. */
  readonly takeOver: (previous: string, holder: string, ttl: Duration.Duration) => Effect.Effect<boolean, StoreError>
  /** Extends `holder`'s lease to `ttl` from now; `false` if `holder` no longer holds it. */
  readonly renew: (holder: string, ttl: Duration.Duration) => Effect.Effect<boolean, StoreError>
  /** Gives the lease up, if `holder` holds it. */
  readonly release: (holder: string) => Effect.Effect<void, StoreError>
}

export class InstanceLease extends Context.Tag("dialog-bot/InstanceLease")<InstanceLease, InstanceLeaseService>() {}

/** A holder id for this process: `pid@host#nonce`. */
export const holderId = (pid: number = process.pid, host: string = hostname()): string =>
  `${pid}@${host}#${randomUUID().slice(0, 8)}`

const parseHolder = (holder: string): Option.Option<{ readonly pid: number; readonly host: string }> => {
  const match = /^(\d+)@(.+)#[0-9a-f]+$/.exec(holder)
  return match === null ? Option.none() : Option.some({ pid: Number(match[1]), host: match[2] ?? "" })
}

/** Whether a process with this pid runs on this host (signal 0 checks without signalling). */
const processAlive = (pid: number): boolean =>
  Either.match(Either.try(() => process.kill(pid, 0)), {
    onLeft: (error) => typeof error === "object" && error !== null && "code" in error && error.code === "EPERM",
    onRight: () => true
  })

/** The holders this process runs now (two layers of one process on one store are two holders). */
const ownHolders = new Set<string>()

/**
 * Whether `holder` is a process of this host that is gone: not running, or an earlier process
 * that had this process's pid. Holders on other hosts cannot be checked: their lease expires.
 */
export const holderIsGone = (holder: string, self: string): boolean =>
  Option.match(Option.all([parseHolder(holder), parseHolder(self)]), {
    onNone: () => false,
    onSome: ([other, me]) =>
      other.host === me.host && holder !== self &&
      (other.pid === me.pid ? !ownHolders.has(holder) : !processAlive(other.pid))
  })

export interface SingleInstanceOptions {
  /** The store, as the refusal names it: `SQLite database ./data/bot.sqlite`. */
  readonly store: string
  /** How long the lease lasts without renewal; it is renewed every quarter of that. */
  readonly ttl: Duration.DurationInput
  /** This process's holder id (tests give their own). */
  readonly holder?: string | undefined
}

/** The one line a second process stops with. */
export const refusal = (store: string, current: LeaseHolder, now: number): string =>
  `${store} is in use by another bot process (${current.holder}, lease expires in ${
    Math.max(0, Math.ceil((current.expiresAt - now) / 1000))
  } s): run one process per store, or set CLUSTER=true (with STORE=postgres) to run several replicas`

/**
 * Holds the lease for the life of the layer: taken at start (or the layer fails with a
 * StoreError whose message is {@link refusal}), renewed in the background, released at the end.
 * A renewal that finds the lease taken by another process logs an error: two processes now
 * share the store.
 */
export const singleInstance = (options: SingleInstanceOptions): Layer.Layer<never, StoreError, InstanceLease> =>
  Layer.scopedDiscard(Effect.gen(function*() {
    const lease = yield* InstanceLease
    const ttl = Duration.decode(options.ttl)
    const holder = options.holder ?? holderId()
    const taken = yield* lease.acquire(holder, ttl)
    if (Option.isSome(taken)) {
      const current = taken.value
      const tookOver = holderIsGone(current.holder, holder) && (yield* lease.takeOver(current.holder, holder, ttl))
      if (!tookOver) {
        const now = yield* Clock.currentTimeMillis
        return yield* Effect.fail(new StoreError({ operation: "lease", message: refusal(options.store, current, now) }))
      }
      yield* Effect.logInfo("took over the single-instance lease of a process that is gone").pipe(
        Effect.annotateLogs({ previous: current.holder })
      )
    }
    ownHolders.add(holder)
    yield* Effect.addFinalizer(() =>
      Effect.ignore(lease.release(holder)).pipe(Effect.ensuring(Effect.sync(() => ownHolders.delete(holder))))
    )
    const renew = lease.renew(holder, ttl).pipe(
      Effect.flatMap((held) =>
        held
          ? Effect.void
          : Effect.logError(`lost the single-instance lease of ${options.store}: another process may be using it`)
      ),
      Effect.catchAll((error) => Effect.logWarning(`could not renew the single-instance lease: ${error.message}`))
    )
    yield* Effect.forkScoped(Effect.repeat(renew, Schedule.spaced(Duration.divide(ttl, 4).pipe(Option.getOrElse(() => ttl)))))
  }))

/** The lease in memory, for tests: one per layer, on the `Clock`. */
export const InstanceLeaseMemory = Layer.sync(InstanceLease, () => {
  let current: LeaseHolder | undefined
  const set = (holder: string, ttl: Duration.Duration) =>
    Effect.map(Clock.currentTimeMillis, (now) => {
      current = { holder, expiresAt: now + Duration.toMillis(ttl) }
    })
  return InstanceLease.of({
    acquire: (holder, ttl) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        current === undefined || current.expiresAt <= now || current.holder === holder
          ? Effect.as(set(holder, ttl), Option.none())
          : Effect.succeed(Option.some(current))),
    takeOver: (previous, holder, ttl) =>
      Effect.suspend(() => (current?.holder === previous ? Effect.as(set(holder, ttl), true) : Effect.succeed(false))),
    renew: (holder, ttl) =>
      Effect.suspend(() => (current?.holder === holder ? Effect.as(set(holder, ttl), true) : Effect.succeed(false))),
    release: (holder) =>
      Effect.sync(() => {
        if (current?.holder === holder) current = undefined
      })
  })
})
