/**
 * `FiberRef`s set for the length of an effect, in fewer runtime steps than effect's own.
 *
 * Effect's `Effect.locally` is an `acquireUseRelease` per reference (a `FiberRef` read, two
 * `FiberRef.set`s, an uninterruptible region and an `exit` frame: some twenty runtime steps);
 * `Effect.annotateLogs` is the same with one read more. The bot sets several around every update,
 * model call and stage. Here the references are set and reset on the running fiber directly,
 * inside one uninterruptible region around one success-and-failure frame: about eight steps for
 * any number of references. They are reset when `self` ends, however it ends (an interruption
 * too: the region keeps the frame's handler from being skipped), to the values they had before,
 * as `locally` resets them.
 */
import { Effect, type Fiber, FiberRef, HashMap, LogLevel } from "effect"

/** One reference and how its value changes inside the effect (made by `localValue` or `localWith`, which type it). */
export interface LocalValue {
  readonly ref: FiberRef.FiberRef<unknown>
  readonly update: (current: unknown) => unknown
}

/** `ref` is `update` of its current value inside the effect. */
export const localWith = <A>(ref: FiberRef.FiberRef<A>, update: (current: A) => A): LocalValue => ({
  ref: ref as FiberRef.FiberRef<unknown>,
  update: update as (current: unknown) => unknown
})

/** `ref` is `value` inside the effect. */
export const localValue = <A>(ref: FiberRef.FiberRef<A>, value: A): LocalValue => localWith(ref, () => value)

/** The log annotations `values` added inside the effect (as `Effect.annotateLogs` adds them). */
export const localAnnotations = (values: Readonly<Record<string, unknown>>): LocalValue =>
  localWith(FiberRef.currentLogAnnotations, (annotations) => {
    let all = annotations
    for (const key in values) all = HashMap.set(all, key, values[key])
    return all
  })

/**
 * The running fiber as effect's runtime makes it: `setFiberRef` is what `FiberRef.set` runs, a
 * method every fiber of effect 3 has, though the public `RuntimeFiber` type only reads
 * (`test/effect/locallyAll.test.ts` checks it is there).
 */
interface SettableFiber {
  readonly setFiberRef: <X>(ref: FiberRef.FiberRef<X>, value: X) => void
}

/**
 * `self` with `enter` run on its fiber just before it, and the function `enter` returns run
 * just after it however it ends (a failure, a defect, an interruption: the region keeps the
 * frame's handler from being skipped), both on this fiber, before anything after `self`. An
 * `acquireUseRelease` of two synchronous steps in a few runtime steps where it takes about
 * fifteen; `self` runs as interruptible as the caller was.
 */
export const around = (enter: (fiber: Fiber.RuntimeFiber<unknown, unknown>) => () => void) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, R>((fiber) => {
      const leave = enter(fiber)
      return Effect.matchCauseEffect(restore(self), {
        onFailure: (cause) => {
          leave()
          return Effect.failCause(cause)
        },
        onSuccess: (a) => {
          leave()
          return Effect.succeed(a)
        }
      })
    })
  )

export const locallyAll = (values: ReadonlyArray<LocalValue>) =>
  around((fiber) => {
    const settable = fiber as unknown as SettableFiber
    const before = values.map((v) => fiber.getFiberRef(v.ref))
    for (let i = 0; i < values.length; i++) settable.setFiberRef(values[i]!.ref, values[i]!.update(before[i]))
    return () => {
      for (let i = 0; i < values.length; i++) settable.setFiberRef(values[i]!.ref, before[i])
    }
  })

/** `Effect.locally` of one reference, as `locallyAll` does it. */
export const locally = <A>(ref: FiberRef.FiberRef<A>, value: A) => locallyAll([localValue(ref, value)])

/** `Effect.annotateLogs` with a record, as `locallyAll` does it. */
export const annotateLogs = (values: Readonly<Record<string, unknown>>) => locallyAll([localAnnotations(values)])

/**
 * `message` logged at `level` with the annotations `values`, as `Effect.logWithLevel` piped
 * through `Effect.annotateLogs` logs it; a line below the minimum level costs one step (the
 * annotations are neither built nor set).
 */
export const logAnnotated = (
  level: LogLevel.LogLevel,
  message: string,
  values: Readonly<Record<string, unknown>>
): Effect.Effect<void> =>
  Effect.withFiberRuntime((fiber) =>
    LogLevel.greaterThan(fiber.getFiberRef(FiberRef.currentMinimumLogLevel), level)
      ? Effect.void
      : Effect.logWithLevel(level, message).pipe(annotateLogs(values))
  )
