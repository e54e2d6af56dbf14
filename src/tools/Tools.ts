/**
 * The tool registry: specs per stage, and execution by name with Schema-checked arguments.
 * Its tools are the ones given at start (built-in, the team's) and those of its sources, which
 * come and go while the bot runs (MCP servers): a stage allows a source's tools by name or all
 * of one server's with `server__*`. Execution never fails: an unknown tool, arguments that are
 * not JSON or do not match the Schema, a handler failure, a defect or a timeout all become a
 * tool result that tells the model what went wrong, so the dialog goes on.
 */
import { Cause, Context, Duration, Effect, Layer } from "effect"
import { ToolsConfig } from "./ToolsConfig.ts"
import { ConfigurationError } from "../domain/errors.ts"
import type { ImagePart, ToolCall, ToolSpec } from "../llm/LanguageModel.ts"
import { measured, toolCalls, toolDuration, updateMetric, withTags } from "../observability/Metrics.ts"
import { type Tool, type ToolContext, ToolFailure, ToolOutput } from "./Tool.ts"
import { annotateSpan, withSpan } from "../observability/span.ts"

export interface ToolResult {
  readonly callId: string
  readonly name: string
  readonly ok: boolean
  /** JSON text given to the model as the `tool` message. */
  readonly content: string
  /** Pictures the tool returned, for a model that looks at pictures. */
  readonly images?: ReadonlyArray<ImagePart> | undefined
}

/** Tools that come and go while the bot runs (an MCP server's). */
export interface ToolSource {
  /** The start of every name of its tools (`crm__`): a stage may allow them before they are listed. */
  readonly prefixes: ReadonlyArray<string>
  /** The tools it offers now. */
  readonly current: Effect.Effect<ReadonlyArray<Tool>>
}

/** The registry's sources of tools besides the ones given at start; none unless a layer provides them. */
export class ToolSources extends Context.Reference<ToolSources>()("dialog-bot/ToolSources", {
  defaultValue: (): { readonly sources: ReadonlyArray<ToolSource> } => ({ sources: [] })
}) {}

/** Whether a stage's list of tools lets it use `name`: the name itself, or `server__*` for a server's tools. */
export const allows = (allowed: ReadonlyArray<string>, name: string): boolean =>
  allowed.some((entry) => entry === name || (entry.endsWith("__*") && name.startsWith(entry.slice(0, -1))))

export interface ToolsService {
  /** Names of the tools given at start. */
  readonly names: ReadonlyArray<string>
  /** Name prefixes of the sources' tools (`crm__`), listed or not. */
  readonly prefixes: ReadonlyArray<string>
  /**
   * Specs of the tools `allowed` lets a stage use now: the named tools given at start in the
   * given order, then the sources' tools it allows; unknown names are left out.
   */
  readonly specs: (allowed: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<ToolSpec>>
  /** Every tool offered now: the ones given at start, then the sources'. */
  readonly all: Effect.Effect<ReadonlyArray<ToolSpec>>
  /** Runs one call if `allowed` lets the stage use its tool; never fails. */
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
    const { sources } = yield* ToolSources
    const timeoutMs = Duration.toMillis(config.toolTimeout)
    const sourced = Effect.map(Effect.forEach(sources, (source) => source.current), (lists) => lists.flat())
    const specOf = (tool: Tool<R> | Tool): ToolSpec => ({ name: tool.name, description: tool.description, parameters: tool.jsonSchema })
    /** A tool by name: one given at start, else one of the sources' as they offer it now. */
    const find = (name: string): Effect.Effect<Tool<R> | Tool | undefined> => {
      const given = seen.get(name)
      return given !== undefined || sources.length === 0
        ? Effect.succeed(given)
        : Effect.map(sourced, (tools) => tools.find((tool) => tool.name === name))
    }
    const specs: ToolsService["specs"] = (allowed) => {
      const given = allowed.flatMap((name) => {
        const tool = seen.get(name)
        return tool ? [specOf(tool)] : []
      })
      if (sources.length === 0) return Effect.succeed(given)
      return Effect.map(sourced, (tools) => [...given, ...tools.filter((tool) => allows(allowed, tool.name)).map(specOf)])
    }

    const execute: ToolsService["execute"] = (call, allowed, toolContext) =>
      Effect.gen(function*() {
        const tool = allows(allowed, call.name) ? yield* find(call.name) : undefined
        if (tool === undefined) {
          const available = (yield* specs(allowed)).map((spec) => spec.name)
          return errorResult(call, `unknown tool "${call.name}"; available: ${available.join(", ") || "none"}`)
        }
        const args = parseArguments(call.arguments)
        if (!args.ok) return errorResult(call, `arguments are not valid JSON: ${call.arguments.slice(0, 200)}`)
        const run: Effect.Effect<unknown, ToolFailure, R> = tool.run(args.value, toolContext)
        return yield* run.pipe(
          Effect.provide(context),
          Effect.timeoutFail({
            duration: timeoutMs,
            onTimeout: () => new ToolFailure({ message: `timed out after ${timeoutMs} ms` })
          }),
          Effect.map((value): ToolResult =>
            value instanceof ToolOutput
              ? { callId: call.id, name: call.name, ok: true, content: value.text, ...(value.images.length > 0 ? { images: value.images } : {}) }
              : { callId: call.id, name: call.name, ok: true, content: JSON.stringify(value ?? null) }
          ),
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
          // A source's tools count under their server (`crm__*`): a server may offer any names.
          const prefix = sources.flatMap((source) => source.prefixes).find((p) => call.name.startsWith(p))
          const tool = seen.has(call.name) ? call.name : prefix !== undefined ? `${prefix}*` : "unknown"
          return effect.pipe(
            Effect.tap((result) =>
              Effect.zipRight(
                annotateSpan("tool.ok", result.ok),
                updateMetric(withTags(toolCalls, { tool, result: result.ok ? "ok" : "error" }), 1)
              )
            ),
            measured(withTags(toolDuration, { tool }))
          )
        },
        withSpan("tool.execute", { attributes: { tool: call.name } }),
        Effect.annotateLogs("tool", call.name)
      )

    return Tools.of({
      names: [...seen.keys()],
      prefixes: sources.flatMap((source) => source.prefixes),
      specs,
      all: Effect.map(sourced, (tools) => [...[...seen.values()].map(specOf), ...tools.map(specOf)]),
      execute
    })
  })

/** The registry over a list of tools; their requirements become the layer's. */
export const ToolsList = <R>(tools: ReadonlyArray<Tool<R>>) => Layer.effect(Tools, makeTools(tools))
