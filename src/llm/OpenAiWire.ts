/**
 * The wire of the Chat Completions API: our messages and tool specs as the `openai` SDK sends
 * them, and the Schema that reads a completion back into our response. The Schema is lenient
 * where OpenAI-compatible servers differ (missing ids, arguments as an object, null fields).
 */
import type { ChatCompletionMessageParam, ChatCompletionTool } from "openai/resources/chat/completions"
import { Option, Schema } from "effect"
import { capToolResult } from "./findings.ts"
import { type ChatMessage, type CompletionResponse, type ImagePart, noUsage, type ToolCall, type ToolSpec, type Usage } from "./LanguageModel.ts"

/** Tool calls of one response beyond this many are ignored (a runaway model cannot flood the loop). */
export const maxToolCallsPerResponse = 16

const WireToolCall = Schema.Struct({
  id: Schema.optional(Schema.NullOr(Schema.String)),
  type: Schema.optional(Schema.NullOr(Schema.String)),
  function: Schema.Struct({
    name: Schema.String,
    // Some servers send the arguments as an object instead of JSON text.
    arguments: Schema.optional(Schema.NullOr(Schema.Union(Schema.String, Schema.Record({ key: Schema.String, value: Schema.Unknown }))))
  })
})

const Count = Schema.optional(Schema.NullOr(Schema.Number))

/**
 * The `usage` of a completion or of a stream's last chunk. Cached prompt tokens and reasoning
 * tokens are in the details objects where the endpoint gives them (OpenAI does; many servers
 * send only the two totals).
 */
export const WireUsage = Schema.Struct({
  prompt_tokens: Count,
  completion_tokens: Count,
  prompt_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ cached_tokens: Count }))),
  completion_tokens_details: Schema.optional(Schema.NullOr(Schema.Struct({ reasoning_tokens: Count })))
})
export type WireUsage = typeof WireUsage.Type

const WireCompletion = Schema.Struct({
  model: Schema.optional(Schema.NullOr(Schema.String)),
  choices: Schema.Array(Schema.Struct({
    message: Schema.Struct({
      content: Schema.optional(Schema.NullOr(Schema.String)),
      refusal: Schema.optional(Schema.NullOr(Schema.String)),
      tool_calls: Schema.optional(Schema.NullOr(Schema.Array(WireToolCall)))
    }),
    finish_reason: Schema.optional(Schema.NullOr(Schema.String))
  })),
  usage: Schema.optional(Schema.NullOr(WireUsage))
})
export type WireCompletion = typeof WireCompletion.Type

/** A completion as the endpoint sent it, read with the Schema (never trusted as typed). */
export const decodeCompletion = Schema.decodeUnknownEither(WireCompletion)

/** A picture as a data URL (`data:image/jpeg;base64,…`). */
export const imageDataUrl = (image: ImagePart): string =>
  `data:${image.mimeType};base64,${Buffer.from(image.data).toString("base64")}`

/** Our messages as the Chat Completions API wants them; tool results capped to `toolResultChars`. */
export const toWireMessages = (
  messages: ReadonlyArray<ChatMessage>,
  toolResultChars: number
): Array<ChatCompletionMessageParam> =>
  messages.map((message): ChatCompletionMessageParam => {
    switch (message.role) {
      case "system":
        return { role: "system", content: message.content }
      case "user":
        return message.images !== undefined && message.images.length > 0
          ? {
            role: "user",
            content: [
              { type: "text", text: message.content },
              ...message.images.map((image) => ({
                type: "image_url" as const,
                image_url: { url: imageDataUrl(image) }
              }))
            ]
          }
          : { role: "user", content: message.content }
      case "assistant":
        return message.toolCalls !== undefined && message.toolCalls.length > 0
          ? {
            role: "assistant",
            content: message.content,
            tool_calls: message.toolCalls.map((call) => ({
              id: call.id,
              type: "function" as const,
              function: { name: call.name, arguments: call.arguments }
            }))
          }
          : { role: "assistant", content: message.content ?? "" }
      case "tool":
        return { role: "tool", tool_call_id: message.toolCallId, content: capToolResult(message.content, toolResultChars) }
    }
  })

/** Tool specs as functions the model may call; `parameters` is their JSON Schema as it is. */
export const toWireTools = (tools: ReadonlyArray<ToolSpec>): Array<ChatCompletionTool> =>
  tools.map((tool) => ({
    type: "function",
    function: { name: tool.name, description: tool.description, parameters: tool.parameters as Record<string, unknown> }
  }))

const nonNegative = (n: number | null | undefined) => (typeof n === "number" && Number.isFinite(n) && n > 0 ? Math.round(n) : 0)

/** The usage an endpoint reported as ours; none reported is no tokens. */
export const usageOf = (wire: WireUsage | null | undefined): Usage =>
  wire == null ? noUsage : {
    promptTokens: nonNegative(wire.prompt_tokens),
    completionTokens: nonNegative(wire.completion_tokens),
    cachedPromptTokens: nonNegative(wire.prompt_tokens_details?.cached_tokens),
    reasoningTokens: nonNegative(wire.completion_tokens_details?.reasoning_tokens)
  }

/** The decoded completion as our response; `None` when it has no choice to read. */
export const fromWire = (wire: WireCompletion, requestedModel: string): Option.Option<CompletionResponse> => {
  const choice = wire.choices[0]
  if (choice === undefined) return Option.none()
  const calls = choice.message.tool_calls ?? []
  const toolCalls: Array<ToolCall> = calls.slice(0, maxToolCallsPerResponse).map((call, index) => ({
    id: call.id ?? `call_${index}`,
    name: call.function.name,
    arguments: typeof call.function.arguments === "string"
      ? call.function.arguments
      : JSON.stringify(call.function.arguments ?? {})
  }))
  return Option.some({
    text: choice.message.content ?? (toolCalls.length === 0 ? choice.message.refusal ?? null : null),
    toolCalls,
    usage: usageOf(wire.usage),
    model: wire.model ?? requestedModel
  })
}
