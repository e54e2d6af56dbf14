/**
 * The tokens one turn spent, call by call: the pipeline opens a collector for the turn
 * (`collectingUsage`) and every model call and transcription made inside it (forked fibers
 * too) adds its usage, so the turn writes them to the ledger once, with its other records,
 * instead of one store round trip per call.
 */
import { Cause, Effect, FiberRef } from "effect"
import {
  type CompletionRequest,
  type CompletionResponse,
  type LanguageModelError,
  type LanguageModelService,
  noUsage,
  type Usage
} from "./LanguageModel.ts"
import { locally } from "../effect/locallyAll.ts"

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
  Effect.withFiberRuntime((fiber) => {
    fiber.getFiberRef(CurrentTurnUsage)?.push({ stage, model, usage })
    return Effect.void
  })

/** The calls of the running turn so far (none outside a turn). */
export const turnUsage: Effect.Effect<ReadonlyArray<CallUsage>> = Effect.map(FiberRef.get(CurrentTurnUsage), (calls) => calls ?? [])

/** Runs `effect` as a turn that collects the usage of its calls (a new collector, even inside another turn). */
export const collectingUsage = <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.suspend(() => locally(CurrentTurnUsage, [])(effect))

/** Characters per token in the estimate of an interrupted call (the usual figure for English text). */
const charsPerToken = 4

/**
 * What an interrupted call spent, estimated (the endpoint's count never came): its prompt, and
 * the text it had written, at `charsPerToken` characters per token.
 */
export const estimatedUsage = (request: CompletionRequest, written: string): Usage => {
  let promptChars = 0
  for (const message of request.messages) promptChars += message.content?.length ?? 0
  return {
    ...noUsage,
    promptTokens: Math.ceil(promptChars / charsPerToken),
    completionTokens: Math.ceil(written.length / charsPerToken)
  }
}

/**
 * The same model with the usage of every answered call added to the running turn's. A call
 * interrupted on the way (a user's Stop, a deadline) is counted too, with its usage estimated:
 * the endpoint was asked, and bills what it read and wrote.
 */
export const countingUsage = (service: LanguageModelService): LanguageModelService => {
  const stream = service.stream
  const modelOf = (request: CompletionRequest) => service.modelOf?.(request) ?? request.model ?? service.description
  // The turn's collector read once; the call's usage added in place when it answers, or its
  // estimate when it is interrupted (inside an uninterruptible region, as `Effect.onInterrupt`).
  const counted = (request: CompletionRequest, call: Effect.Effect<CompletionResponse, LanguageModelError>, written: () => string) =>
    Effect.uninterruptibleMask((restore) =>
      Effect.withFiberRuntime<CompletionResponse, LanguageModelError>((fiber) => {
        const calls = fiber.getFiberRef(CurrentTurnUsage)
        if (calls === undefined) return restore(call)
        return Effect.matchCauseEffect(restore(call), {
          onSuccess: (response) => {
            calls.push({ stage: request.purpose, model: response.model, usage: response.usage })
            return Effect.succeed(response)
          },
          onFailure: (cause) => {
            if (Cause.isInterruptedOnly(cause)) {
              calls.push({ stage: request.purpose, model: modelOf(request), usage: estimatedUsage(request, written()) })
            }
            return Effect.failCause(cause)
          }
        })
      })
    )
  return {
    description: service.description,
    modelOf: service.modelOf,
    complete: (request) => counted(request, service.complete(request), () => ""),
    ...(stream === undefined ? {} : {
      stream: (request, onText) => {
        let written = ""
        return counted(request, stream(request, (soFar) => {
          written = soFar
          onText(soFar)
        }), () => written)
      }
    })
  }
}
