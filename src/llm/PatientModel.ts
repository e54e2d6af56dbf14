/**
 * The model as a turn calls it: through the model's breaker (`effect/Breaker.ts`), so an
 * endpoint that is down (no connection, no answer in time, a 5xx) is waited out for the turn's
 * patience instead of falling back at once. Once the patience is spent the call fails with
 * `DependencyDown`, which the stages do not fall back from: the turn ends with the apology and
 * runs again when the endpoint answers.
 */
import { Effect, FiberRef, Option } from "effect"
import { type Breaker, CurrentPatience, DependencyDown } from "../effect/Breaker.ts"
import { type CompletionRequest, type CompletionResponse, LanguageModelError, type LanguageModelService, type OnText } from "./LanguageModel.ts"

export interface PatientModelService {
  readonly description: string
  readonly complete: (request: CompletionRequest) => Effect.Effect<CompletionResponse, LanguageModelError | DependencyDown>
  readonly stream?:
    | ((request: CompletionRequest, onText: OnText) => Effect.Effect<CompletionResponse, LanguageModelError | DependencyDown>)
    | undefined
}

const isOutage = (error: LanguageModelError): boolean => error.outage === true

/** `call` through `breaker`; an outage the turn gave up on is `DependencyDown`. */
const patiently = (breaker: Breaker, purpose: string) =>
<A>(call: Effect.Effect<A, LanguageModelError>): Effect.Effect<A, LanguageModelError | DependencyDown> =>
  breaker.guard(call, {
    isOutage,
    down: () => new LanguageModelError({ purpose, message: "the model endpoint is down (waiting for it to answer again)", outage: true })
  }).pipe(
    Effect.catchIf(isOutage, (error) =>
      Effect.flatMap(
        FiberRef.get(CurrentPatience),
        (cell): Effect.Effect<never, LanguageModelError | DependencyDown> =>
          cell?.gaveUp === undefined
            ? Effect.fail(error)
            : Effect.fail(new DependencyDown({ dependency: breaker.name, message: error.message }))
      ))
  )

/** `service` through the model's breaker when there is one (the bot's layers), as it is otherwise. */
export const patientModel = (service: LanguageModelService, breaker: Option.Option<Breaker>): PatientModelService =>
  Option.match(breaker, {
    onNone: () => service,
    onSome: (breaker) => {
      const stream = service.stream
      return {
        description: service.description,
        complete: (request) => patiently(breaker, request.purpose)(service.complete(request)),
        ...(stream === undefined ? {} : {
          stream: (request: CompletionRequest, onText: OnText) => patiently(breaker, request.purpose)(stream(request, onText))
        })
      }
    }
  })
