/**
 * The tool registry: specs per stage, and execution by name with Schema-checked arguments.
 * Execution never fails: an unknown tool, arguments that are not JSON or do not match the
 * Schema, a handler failure, a defect or a timeout all become a tool result that tells the
 * model what went wrong, so the dialog goes on.
 */
import { Cause, Context, Duration, Effect, Layer, Metric } from "effect"
import { ToolsConfig } from "./ToolsConfig.ts"
import { ConfigurationError } from "../domain/errors.ts"
import type { ToolCall, ToolSpec } from "../llm/LanguageModel.ts"
import { toolCalls, toolDuration, withTags } from "../observability/Metrics.ts"
import { type Tool, type ToolContext, ToolFailure } from "./Tool.ts"
import { annotateSpan, withSpan } from "../observability/span.ts"

export interface ToolResult {
  readonly callId: string
  readonly name: string
  readonly ok: boolean
  /** JSON text given to the model as the `tool` message. */
  readonly content: string
}

export interface ToolsService {
  readonly names: ReadonlyArray<string>
  /** Specs of the named tools, in the given order; unknown names are left out. */
  readonly specs: (names: ReadonlyArray<string>) => ReadonlyArray<ToolSpec>
  /** Runs one call if `allowed` contains its tool; never fails. */
  readonly execute: (
    call: ToolCall,
    allowed: ReadonlyArray<string>,
    context: ToolContext
  ) => Effect.Effect<ToolResult>
}

export class Tools extends Context.Tag("dialog-bot/Tools")<Tools, ToolsService>() {}

const errorResult = (call: ToolCall, error: string): ToolResult => ({
  callId: call.id,
  name: call.name,
  ok: false,
  content: JSON.stringify({ error })
})

const parseArguments = (text: string): { readonly ok: true; readonly value: unknown } | { readonly ok: false } => {
  const trimmed = text.trim()
  if (trimmed === "") return { ok: true, value: {} }
  try {
    return { ok: true, value: JSON.parse(trimmed) as unknown }
  } catch {
    return { ok: false }
  }
}

/** Builds the registry; two tools with one name fail at start. */
export const makeTools = <R>(tools: ReadonlyArray<Tool<R>>) =>
  Effect.gen(function*() {
    const seen = new Map<string, Tool<R>>()
    for (const tool of tools) {
      if (seen.has(tool.name)) {
        return yield* Effect.fail(
          new ConfigurationError({ source: "tools", message: `two tools are named "${tool.name}"` })
        )
      }
      seen.set(tool.name, tool)
    }
    const config = yield* ToolsConfig
    const context = yield* Effect.context<R>()
    const timeoutMs = Duration.toMillis(config.toolTimeout)

    const execute: ToolsService["execute"] = (call, allowed, toolContext) =>
      Effect.gen(function*() {
        const tool = seen.get(call.name)
        if (!tool || !allowed.includes(call.name)) {
          return errorResult(call, `unknown tool "${call.name}"; available: ${allowed.join(", ") || "none"}`)
        }
        const args = parseArguments(call.arguments)
        if (!args.ok) return errorResult(call, `arguments are not valid JSON: ${call.arguments.slice(0, 200)}`)
        return yield* tool.run(args.value, toolContext).pipe(
          Effect.provide(context),
          Effect.timeoutFail({
            duration: timeoutMs,
            onTimeout: () => new ToolFailure({ message: `timed out after ${timeoutMs} ms` })
          }),
          Effect.map((value): ToolResult => ({
            callId: call.id,
            name: call.name,
            ok: true,
            content: JSON.stringify(value ?? null)
          })),
          Effect.catchAll((failure) => Effect.succeed(errorResult(call, failure.message))),
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause)
              : Effect.as(Effect.logWarning("tool defect", cause), errorResult(call, "the tool crashed"))
          )
        )
      }).pipe(
        (effect) => {
          // A name the model made up is not a label value: it would grow the metric without bound.
          const tool = seen.has(call.name) ? call.name : "unknown"
          return effect.pipe(
            Effect.tap((result) =>
              Effect.zipRight(
                annotateSpan("tool.ok", result.ok),
                Metric.increment(withTags(toolCalls, { tool, result: result.ok ? "ok" : "error" }))
              )
            ),
            Metric.trackDuration(withTags(toolDuration, { tool }))
          )
        },
        withSpan("tool.execute", { attributes: { tool: call.name } }),
        Effect.annotateLogs("tool", call.name)
      )

    return Tools.of({
      names: [...seen.keys()],
      specs: (names) =>
        names.flatMap((name) => {
          const tool = seen.get(name)
          return tool ? [{ name: tool.name, description: tool.description, parameters: tool.jsonSchema }] : []
        }),
      execute
    })
  })

/** The registry over a list of tools; their requirements become the layer's. */
export const ToolsList = <R>(tools: ReadonlyArray<Tool<R>>) => Layer.effect(Tools, makeTools(tools))
