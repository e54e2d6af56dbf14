/**
 * The tokens one turn spent, call by call: the pipeline opens a collector for the turn
 * (`collectingUsage`) and every model call and transcription made inside it (forked fibers
 * too) adds its usage, so the turn writes them to the ledger once, with its other records,
 * instead of one store round trip per call.
 */
import { Effect, FiberRef } from "effect"
import type { LanguageModelService, Usage } from "./LanguageModel.ts"

/** What one call spent: the pipeline step (`classify`, `think`, `synthesize`, `transcribe`), the model that answered, its tokens. */
export interface CallUsage {
  readonly stage: string
  readonly model: string
  readonly usage: Usage
}

/** The calls of the running turn; `undefined` outside a turn (nothing is collected). */
const CurrentTurnUsage = FiberRef.unsafeMake<Array<CallUsage> | undefined>(undefined)

/** Adds a call's usage to the running turn's, if a turn is collecting. */
export const countUsage = (stage: string, model: string, usage: Usage): Effect.Effect<void> =>
  Effect.flatMap(FiberRef.get(CurrentTurnUsage), (calls) =>
    Effect.sync(() => {
      calls?.push({ stage, model, usage })
    }))

/** The calls of the running turn so far (none outside a turn). */
export const turnUsage: Effect.Effect<ReadonlyArray<CallUsage>> = Effect.map(FiberRef.get(CurrentTurnUsage), (calls) => calls ?? [])

/** Runs `effect` as a turn that collects the usage of its calls (a new collector, even inside another turn). */
export const collectingUsage = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => Effect.locally(effect, CurrentTurnUsage, []))

/** The same model with the usage of every answered call added to the running turn's. */
export const countingUsage = (service: LanguageModelService): LanguageModelService => {
  const stream = service.stream
  return {
    description: service.description,
    complete: (request) =>
      Effect.tap(service.complete(request), (response) => countUsage(request.purpose, response.model, response.usage)),
    ...(stream === undefined ? {} : {
      stream: (request, onText) =>
        Effect.tap(stream(request, onText), (response) => countUsage(request.purpose, response.model, response.usage))
    })
  }
}
