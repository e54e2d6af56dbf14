/**
 * Waiting for a fiber with a timer beside it. Effect's `timeout` and `raceFirst` run the timer
 * as a second fiber that sleeps (two fibers forked per call, about fifty runtime steps with the
 * race's frames, bench/README.md); on effect's own clock, this one is a JavaScript timer beside
 * one asynchronous wait, and only the fiber waited for is forked (by the caller). Under any
 * other clock (`TestClock` in the tests, the replay's fixed clock) it sleeps on that clock, so
 * a test moves it as it moves `Effect.sleep`.
 */
import { Clock, Context, DefaultServices, Duration, Effect, Exit, Fiber, FiberRefs, Option } from "effect"

/**
 * What to do when the timer fires: wait this much longer, give up (`"expired"`), or wait for
 * the fiber alone from now on (`"untimed"`). Called once per firing, when it fires.
 */
export type OnTimer = () => Duration.Duration | "expired" | "untimed"

/** Gives up at the timer's first firing: a plain timeout. */
export const giveUp: OnTimer = () => "expired"

/**
 * Effect's own clock: the one every fiber has unless a test or the replay sets another. (The
 * clock of a second copy of effect in a process counts as another clock: the sleep, still right.)
 */
const liveClock = Context.get(FiberRefs.getOrDefault(FiberRefs.empty(), DefaultServices.currentServices), Clock.Clock)

/** setTimeout fires at once beyond 2^31 - 1 ms: a longer (or infinite) wait is no timer. */
const maxTimerMillis = 2 ** 31 - 1

const onLiveClock = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  first: Duration.Duration,
  onTimer: OnTimer
): Effect.Effect<Option.Option<Exit.Exit<A, E>>> =>
  Effect.async<Option.Option<Exit.Exit<A, E>>>((resume) => {
    let timer: ReturnType<typeof setTimeout> | undefined
    const ended = (exit: Exit.Exit<A, E>) => {
      if (timer !== undefined) clearTimeout(timer)
      resume(Effect.succeed(Option.some(exit)))
    }
    const arm = (duration: Duration.Duration) => {
      const millis = Duration.toMillis(duration)
      timer = millis > maxTimerMillis ? undefined : setTimeout(fire, millis)
    }
    const fire = () => {
      timer = undefined
      const next = onTimer()
      if (next === "expired") {
        fiber.removeObserver(ended)
        resume(Effect.succeed(Option.none()))
      } else if (next !== "untimed") {
        arm(next)
      }
    }
    const done = fiber.unsafePoll()
    if (done !== null) {
      resume(Effect.succeed(Option.some(done)))
      return
    }
    arm(first)
    fiber.addObserver(ended)
    return Effect.sync(() => {
      if (timer !== undefined) clearTimeout(timer)
      fiber.removeObserver(ended)
    })
  })

const onOtherClock = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  first: Duration.Duration,
  onTimer: OnTimer
): Effect.Effect<Option.Option<Exit.Exit<A, E>>> => {
  const timer = (duration: Duration.Duration): Effect.Effect<Option.Option<Exit.Exit<A, E>>> =>
    Effect.flatMap(Effect.sleep(duration), () => {
      const next = onTimer()
      return next === "expired" ? Effect.succeedNone : next === "untimed" ? Effect.never : timer(next)
    })
  // Both sides interruptible, as `Effect.timeout` makes its sleep: a wait begun in an
  // uninterruptible region would otherwise wait out the loser (a sleep the test's clock may never reach).
  return Effect.raceFirst(Effect.interruptible(Effect.map(fiber.await, Option.some)), Effect.interruptible(timer(first)))
}

/**
 * Waits for `fiber` to end, with a timer that first fires after `first`: `Some` of the fiber's
 * exit when it ended first, `None` when `onTimer` gave up first (the fiber is left as it is:
 * the caller interrupts it or lets it go on). Interrupting the wait leaves the fiber alone too.
 */
export const awaitWithTimer = <A, E>(
  fiber: Fiber.RuntimeFiber<A, E>,
  first: Duration.Duration,
  onTimer: OnTimer
): Effect.Effect<Option.Option<Exit.Exit<A, E>>> =>
  Effect.withFiberRuntime((self) =>
    Context.get(self.currentDefaultServices, Clock.Clock) === liveClock
      ? onLiveClock(fiber, first, onTimer)
      : onOtherClock(fiber, first, onTimer)
  )

/**
 * `effect` on a fiber of its own with a timer beside it: its answer when it ends first (with the
 * `FiberRef`s it set, when it succeeded); once `onTimer` gives up, the fiber is interrupted (and
 * awaited) and this fails with `expired()`. Interrupting this interrupts the fiber, and waits
 * for it.
 * `Effect.timeout` and `raceFirst` against a sleep, with one fiber where they fork two.
 *
 * With `daemon`, the fiber is not a child of the caller's: a fiber that is told to stop tells
 * its children at once, even while it finishes an uninterruptible region, so a wait that must
 * not be cut (the record of a sent message) runs its effect as a daemon.
 */
export const withTimer = <A, E, R, E2>(
  effect: Effect.Effect<A, E, R>,
  first: Duration.Duration,
  onTimer: OnTimer,
  expired: () => E2,
  options?: { readonly daemon?: boolean }
): Effect.Effect<A, E | E2, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.flatMap(options?.daemon === true ? Effect.forkDaemon(restore(effect)) : Effect.fork(restore(effect)), (fiber) =>
      Effect.matchCauseEffect(restore(awaitWithTimer(fiber, first, onTimer)), {
        onFailure: (cause) => Effect.zipRight(Fiber.interrupt(fiber), Effect.failCause(cause)),
        onSuccess: (ended): Effect.Effect<A, E | E2> =>
          ended._tag === "None"
            ? Effect.zipRight(Fiber.interrupt(fiber), Effect.fail(expired()))
            // As `Fiber.join` and effect's races: the references of a fiber that succeeded.
            : Exit.isSuccess(ended.value)
            ? Effect.zipRight(fiber.inheritAll, ended.value)
            : ended.value
      })))
