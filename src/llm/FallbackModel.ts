/**
 * The primary model endpoint with a fallback endpoint behind it. A call the primary fails after
 * its retries with a failure of the endpoint — no connection, no answer in time, a 5xx, a 429
 * or 409 (a 429 asking for a long wait is not retried: `OpenAiRetry.ts`) — is asked of the
 * fallback, whole or streamed, tools and all. A refusal (400, refused content, a response that
 * cannot be read) is the primary's answer and goes back as it is, and so is a stream that fails
 * after its first chunk (its text is on its way to the user). The fallback asks
 * `OPENAI_FALLBACK_MODEL` instead of a model the user chose; its answers carry its model's
 * name, under which the usage ledger counts them.
 *
 * The primary has a breaker of its own (`effect/Breaker.ts`, outside any turn's patience, so it
 * never waits): after `primaryBreakerOptions.threshold` failed calls in a row it opens, logs one
 * line, and calls go straight to the fallback; after 5 s (doubling up to a minute while it
 * stays down) one call is the probe, with a single attempt, so a primary that is still down
 * costs that turn one request and not its retries. The first answer closes it and logs one line.
 *
 * With a fallback a primary outage is not the turn's outage: the turn is answered. Only a call
 * both endpoints fail is an outage, which the model's breaker (`PatientModel.ts`) waits out for
 * the turn's patience.
 */
import { Data, Duration, Effect } from "effect"
import { type Breaker, type BreakerOptions, CurrentPatience } from "../effect/Breaker.ts"
import type { CompletionRequest, CompletionResponse, LanguageModelError, LanguageModelService } from "./LanguageModel.ts"
import { countedAs, countProviderCall } from "./LlmMetrics.ts"

/**
 * The primary's breaker: three failed calls in a row (each after its retries) open it; the
 * first probe after 5 s, then 10, 20, 40 s and every minute while the primary stays down.
 */
export const primaryBreakerOptions: BreakerOptions = {
  threshold: 3,
  probeBase: Duration.seconds(5),
  probeMax: Duration.minutes(1),
  meanwhile: "calls go to the fallback"
}

/** A call the fallback answers instead: the endpoint failed, it did not refuse the request. */
export const failsOver = (error: LanguageModelError): boolean =>
  error.outage === true || error.status === 429 || error.status === 409

/** The primary was not asked: its breaker is open and no probe is due. */
class PrimarySkipped extends Data.TaggedError("PrimarySkipped") {}

export interface Endpoints {
  readonly description: string
  /** The primary with its retries. */
  readonly primary: LanguageModelService
  /** The primary with a single attempt: the breaker's probe. */
  readonly probe: LanguageModelService
  readonly fallback: LanguageModelService
  /** The request as the fallback gets it (its own model instead of a chosen one). */
  readonly toFallback: (request: CompletionRequest) => CompletionRequest
  readonly breaker: Breaker
}

/** The primary alone (no fallback configured), its calls counted as the primary's. */
export const primaryOnly = (service: LanguageModelService): LanguageModelService => {
  const stream = service.stream
  return {
    description: service.description,
    complete: (request) => countedAs("primary")(service.complete(request)),
    ...(stream === undefined ? {} : { stream: (request, onText) => countedAs("primary")(stream(request, onText)) })
  }
}

type Call = (service: LanguageModelService, request: CompletionRequest) => Effect.Effect<CompletionResponse, LanguageModelError>

/** The primary, and the fallback for what the primary fails. */
export const withFallback = (endpoints: Endpoints): LanguageModelService => {
  const { breaker } = endpoints
  const guardOptions = {
    isOutage: (error: LanguageModelError | PrimarySkipped) => error._tag === "LanguageModelError" && failsOver(error),
    down: () => new PrimarySkipped()
  }
  const routed = (request: CompletionRequest, call: Call): Effect.Effect<CompletionResponse, LanguageModelError> => {
    const fallback = countedAs("fallback")(call(endpoints.fallback, endpoints.toFallback(request)))
    // While the breaker is open, the call it lets through is the probe.
    const primary = Effect.flatMap(breaker.isDown, (down) =>
      breaker.guard<CompletionResponse, LanguageModelError | PrimarySkipped, never>(
        countedAs("primary")(call(down ? endpoints.probe : endpoints.primary, request)),
        guardOptions
      )).pipe(
        // Outside the turn's patience: the breaker never waits, the fallback is there.
        Effect.locally(CurrentPatience, undefined)
      )
    return Effect.catchAll(primary, (error) =>
      error._tag === "PrimarySkipped"
        ? Effect.zipRight(countProviderCall("primary", "skipped"), fallback)
        : failsOver(error)
        ? fallback
        : Effect.fail(error))
  }
  return {
    description: endpoints.description,
    complete: (request) => routed(request, (service, req) => service.complete(req)),
    ...(endpoints.primary.stream === undefined ? {} : {
      // An endpoint that cannot stream answers in one piece.
      stream: (request, onText) =>
        routed(request, (service, req) => service.stream === undefined ? service.complete(req) : service.stream(req, onText))
    })
  }
}
