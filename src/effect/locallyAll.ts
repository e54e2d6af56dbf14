/**
 * `Effect.locally` of several `FiberRef`s at once. Effect's `locally` is an
 * `acquireUseRelease` per reference (a dozen runtime steps each, and two copies of the fiber's
 * references); the update runner sets four per update (the update, its delivery cell, its merged
 * parts, its log annotations). Here they are set one after the other and reset together when
 * `self` ends, however it ends, as `locally` resets each: to the value it had before.
 */
import { Effect, FiberRef } from "effect"

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

const setAll = (refs: ReadonlyArray<FiberRef.FiberRef<unknown>>, values: ReadonlyArray<unknown>): Effect.Effect<void> => {
  let all: Effect.Effect<void> = Effect.void
  for (let i = 0; i < refs.length; i++) all = Effect.zipRight(all, FiberRef.set(refs[i]!, values[i]))
  return all
}

export const locallyAll = (values: ReadonlyArray<LocalValue>) =>
<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.withFiberRuntime<A, E, R>((fiber) => {
      const refs = values.map((v) => v.ref)
      const before = refs.map((ref) => fiber.getFiberRef(ref))
      const inside = values.map((v, i) => v.update(before[i]))
      return Effect.zipRight(setAll(refs, inside), Effect.ensuring(restore(self), setAll(refs, before)))
    })
  )
