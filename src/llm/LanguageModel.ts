/**
 * One chat completion against a language model: messages and tool specs in, text and/or tool
 * calls out. The pipeline drives the three stages through this one method; layers decide
 * what answers (the openai SDK, the offline model, a scripted model in tests).
 */
import { Context, type Effect, Schema } from "effect"

/**
 * Which pipeline step is asking: layers may choose a model per step. `summary` folds old
 * messages into a conversation's running summary, after the turn (`src/dialog/Compaction.ts`).
 */
export type Purpose = "classify" | "think" | "synthesize" | "summary"

export interface ToolCall {
  readonly id: string
  readonly name: string
  /** The arguments exactly as the model wrote them: JSON text, not yet trusted. */
  readonly arguments: string
}

/** A picture given to the model with a user's message (sent as an `image_url` part with a data URL). */
export interface ImagePart {
  /** e.g. `image/jpeg`. */
  readonly mimeType: string
  readonly data: Uint8Array
}

/**
 * What a user's message carried besides its text: pictures for a model that looks at them, and
 * what was received in a few words ("a voice note of 7 seconds") for one that cannot.
 */
export interface UserMedia {
  readonly images?: ReadonlyArray<ImagePart> | undefined
  readonly received?: ReadonlyArray<string> | undefined
}

export type ChatMessage =
  | { readonly role: "system"; readonly content: string }
  | ({ readonly role: "user"; readonly content: string } & UserMedia)
  | { readonly role: "assistant"; readonly content: string | null; readonly toolCalls?: ReadonlyArray<ToolCall> }
  | { readonly role: "tool"; readonly toolCallId: string; readonly content: string }

/** A tool as the model sees it: `parameters` is a JSON Schema object. */
export interface ToolSpec {
  readonly name: string
  readonly description: string
  readonly parameters: object
}

export interface CompletionRequest {
  readonly purpose: Purpose
  readonly messages: ReadonlyArray<ChatMessage>
  readonly tools?: ReadonlyArray<ToolSpec>
  /**
   * Names the prompt's stable prefix for the provider's prompt cache (`prompt_cache_key`):
   * requests with one key are routed to where that prefix is cached.
   */
  readonly cacheKey?: string
  /** The model id to ask instead of the one configured for the purpose (a user's choice). */
  readonly model?: string
}

/**
 * The tokens of one call as the endpoint counted them. `cachedPromptTokens` are part of
 * `promptTokens` (served from the provider's prompt cache, billed lower) and `reasoningTokens`
 * part of `completionTokens` (written but not shown); both are 0 where the endpoint does not say.
 */
export interface Usage {
  readonly promptTokens: number
  readonly completionTokens: number
  readonly cachedPromptTokens: number
  readonly reasoningTokens: number
}

export interface CompletionResponse {
  readonly text: string | null
  readonly toolCalls: ReadonlyArray<ToolCall>
  readonly usage: Usage
  readonly model: string
}

/** The model could not answer: the endpoint failed, timed out, or answered nonsense. */
export class LanguageModelError extends Schema.TaggedError<LanguageModelError>()("LanguageModelError", {
  purpose: Schema.String,
  message: Schema.String,
  status: Schema.optional(Schema.Number),
  /** The endpoint is down (no connection, no answer in time, a 5xx): waited out, not a refusal. */
  outage: Schema.optional(Schema.Boolean)
}) {}

/**
 * Told the answer so far each time a streamed completion grows. It is called synchronously by
 * the reader of the response, once per piece: keep it cheap (offer to a queue, set a variable).
 */
export type OnText = (soFar: string) => void

export interface LanguageModelService {
  /** A short name for logs: which model answers (e.g. `offline`, `openai:gpt-4o-mini`). */
  readonly description: string
  /**
   * The model a request is sent to, by the name the usage ledger keeps: a call interrupted
   * before it answered is counted under it. Without it, the request's own model or `description`.
   */
  readonly modelOf?: ((request: CompletionRequest) => string) | undefined
  readonly complete: (request: CompletionRequest) => Effect.Effect<CompletionResponse, LanguageModelError>
  /**
   * The same completion streamed, for answers without tools: `onText` sees the text as it is
   * written, and the result is the whole response with its usage. A layer without it answers in
   * one piece (`streamCompletion` in `streaming.ts`). Interrupting the call ends the request.
   */
  readonly stream?: ((request: CompletionRequest, onText: OnText) => Effect.Effect<CompletionResponse, LanguageModelError>) | undefined
}

export class LanguageModel extends Context.Tag("dialog-bot/LanguageModel")<LanguageModel, LanguageModelService>() {}

export const noUsage: Usage = { promptTokens: 0, completionTokens: 0, cachedPromptTokens: 0, reasoningTokens: 0 }

/** The tokens of two calls together. */
export const addUsage = (a: Usage, b: Usage): Usage => ({
  promptTokens: a.promptTokens + b.promptTokens,
  completionTokens: a.completionTokens + b.completionTokens,
  cachedPromptTokens: a.cachedPromptTokens + b.cachedPromptTokens,
  reasoningTokens: a.reasoningTokens + b.reasoningTokens
})
