/**
 * Every store call through the store's breaker (`effect/Breaker.ts`): a store that does not
 * answer (a retryable `StoreError`: connection refused or lost, a timeout) is waited out by the
 * turn that calls it, and refused at once, without a round trip, to callers outside a turn
 * while it is down.
 */
import type { Context } from "effect"
import type { Breaker } from "../effect/Breaker.ts"
import { StoreError } from "../domain/errors.ts"
import { mapStores } from "./Instrumented.ts"

const isStoreOutage = (error: unknown): boolean => error instanceof StoreError && error.retryable

/** The store services of `context` with every call through `breaker`. */
export const guardStoreContext = <S>(context: Context.Context<S>, breaker: Breaker): Context.Context<S> =>
  mapStores(context, (store) => (operation, effect) =>
    breaker.guard(effect, {
      isOutage: isStoreOutage,
      // The usage ledger's recordTurn runs the reply's history append within it.
      nests: store === "usage" && operation === "recordTurn",
      down: () => new StoreError({ operation: `${store}.${operation}`, message: "the store is down (waiting for it to answer again)", retryable: true })
    }))
