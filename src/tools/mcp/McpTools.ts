/**
 * The tools of MCP servers, on the official SDK (`@modelcontextprotocol/sdk`). Each server runs
 * under a supervisor: connect, list the tools (again on every `notifications/tools/list_changed`),
 * and when the connection ends — a stdio server that exits, a Streamable HTTP server whose
 * transport fails — connect again after a backoff. A
 * server that cannot start is logged once and offers no tools until it can; the bot never fails
 * to start for it. The model sees a server's tools as `<server>__<tool>`.
 *
 * Only `McpLayer.ts` imports this module, and only when `MCP_CONFIG` is set: the SDK brings
 * express and hono, which a bot without MCP servers does not load.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { getDefaultEnvironment, StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { Transport } from "@modelcontextprotocol/sdk/shared/transport.js"
import {
  type CallToolResult,
  McpError,
  ToolListChangedNotificationSchema,
  type Tool as McpTool
} from "@modelcontextprotocol/sdk/types.js"
import { Clock, Deferred, Duration, Effect, Layer, Queue, Ref, Schedule, Schema } from "effect"
import type { ImagePart } from "../../llm/LanguageModel.ts"
import { withSpan } from "../../observability/span.ts"
import { HealthReports } from "../../telegram/Health.ts"
import { modelJsonSchema, type Tool, ToolFailure, ToolOutput } from "../Tool.ts"
import { ToolSources } from "../Tools.ts"
import type { McpServerSpec } from "./McpConfig.ts"

/** A server could not be reached, did not answer `initialize` or `tools/list`, or went away. */
export class McpUnavailable extends Schema.TaggedError<McpUnavailable>()("McpUnavailable", {
  server: Schema.String,
  message: Schema.String
}) {}

export interface McpToolsOptions {
  /** Deadline of one call, `TOOL_TIMEOUT`; the registry enforces it too, this is the SDK's own. */
  readonly toolTimeout: Duration.Duration
  /** Pictures a tool returns go to the model (`VISION` with a real model); else a short note. */
  readonly vision: boolean
  /** Delays between restarts; exponential from 1 s to 1 min when not given. */
  readonly restart?: Schedule.Schedule<unknown, unknown>
}

/** How long a server may take to start and answer `initialize` and `tools/list`. */
const startTimeout = Duration.seconds(15)
/** A server that ran this long before it stopped is restarted from the first backoff delay again. */
const stableAfter = Duration.minutes(1)
/** 1 s, 2 s, 4 s… up to a minute between restarts: a crashing server does not spin, a fixed one comes back soon. */
const defaultRestart = Schedule.exponential("1 second", 2).pipe(
  Schedule.modifyDelay((delay) => Duration.min(delay, Duration.minutes(1)))
)

/** `crm` and `find.order` → `crm__find_order`: what the model may call a tool (at most 64 of `[a-zA-Z0-9_-]`). */
export const exposedName = (server: string, tool: string): string =>
  `${server}__${tool.replace(/[^a-zA-Z0-9_-]/g, "_")}`.slice(0, 64)

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : typeof error === "string" ? error : JSON.stringify(error)

/** The text of a result's content, and its pictures when the model looks at them. */
export const toolOutput = (result: CallToolResult, vision: boolean): ToolOutput => {
  const texts: Array<string> = []
  const images: Array<ImagePart> = []
  for (const part of result.content) {
    switch (part.type) {
      case "text":
        texts.push(part.text)
        break
      case "image":
        if (vision) {
          images.push({ mimeType: part.mimeType, data: Buffer.from(part.data, "base64") })
          texts.push(`[picture ${images.length} (${part.mimeType}), shown after the tool results]`)
        } else {
          texts.push(`[a picture (${part.mimeType}) this model cannot look at]`)
        }
        break
      case "audio":
        texts.push(`[an audio clip (${part.mimeType}) this model cannot listen to]`)
        break
      case "resource_link":
        texts.push(`[resource ${part.name}: ${part.uri}]`)
        break
      case "resource":
        texts.push("text" in part.resource ? part.resource.text : `[binary resource ${part.resource.uri}]`)
        break
    }
  }
  const structured = result.structuredContent
  if (structured !== undefined) {
    const json = JSON.stringify(structured)
    // Servers are asked to send structured content as text too; it is given once.
    if (!texts.some((text) => text.trim() === json || sameJson(text, json))) texts.push(json)
  }
  return new ToolOutput({ text: texts.join("\n"), images })
}

const sameJson = (text: string, json: string): boolean => {
  try {
    return JSON.stringify(JSON.parse(text)) === json
  } catch {
    return false
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value)

/** One MCP tool as a tool of the registry: a call carries the caller's interruption to the server. */
const toolOf = (server: string, client: Client, tool: McpTool, options: McpToolsOptions): Tool => ({
  name: exposedName(server, tool.name),
  description: tool.description ?? tool.title ?? tool.name,
  jsonSchema: modelJsonSchema(tool.inputSchema),
  run: (args) =>
    isRecord(args)
      ? Effect.tryPromise({
        // An interrupted call (the turn stopped, TOOL_TIMEOUT) aborts `signal`: the SDK sends
        // `notifications/cancelled` to the server and stops waiting.
        try: (signal) =>
          client.callTool({ name: tool.name, arguments: args }, undefined, {
            signal,
            timeout: Duration.toMillis(options.toolTimeout)
          }),
        catch: (error) => error
      }).pipe(
        Effect.catchAll((error) =>
          Effect.zipRight(
            // Not an answer of the server's but a transport that failed (a Streamable HTTP server
            // restarted and forgot the session, a connection refused): the connection is closed,
            // so the supervisor connects again, as for a stdio server that exited.
            error instanceof McpError ? Effect.void : Effect.promise(() => client.close()),
            Effect.fail(new ToolFailure({ message: `${server}: ${describe(error)}` }))
          )
        ),
        Effect.flatMap((result) => {
          // `callTool`'s type also covers the old `toolResult` shape; a current server sends `content`.
          const content = "content" in result ? (result as CallToolResult) : { content: [] }
          const output = toolOutput(content, options.vision)
          return result.isError === true
            ? Effect.fail(new ToolFailure({ message: output.text || `${tool.name} failed` }))
            : Effect.succeed(output)
        }),
        withSpan("mcp.call", { attributes: { server, tool: tool.name } })
      )
      : Effect.fail(new ToolFailure({ message: "arguments must be a JSON object" }))
})

const transportOf = (spec: McpServerSpec): Transport =>
  spec.kind === "stdio"
    ? new StdioClientTransport({
      command: spec.stdio.command,
      args: [...spec.stdio.args],
      env: { ...getDefaultEnvironment(), ...spec.stdio.env },
      ...(spec.stdio.cwd === undefined ? {} : { cwd: spec.stdio.cwd })
    })
    : new StreamableHTTPClientTransport(new URL(spec.http.url), { requestInit: { headers: { ...spec.http.headers } } })

/** What `/healthz` says of a server. */
export type ServerState =
  | { readonly state: "starting" }
  | { readonly state: "ready"; readonly tools: number }
  | { readonly state: "restarting"; readonly reason: string }
  | { readonly state: "failing"; readonly reason: string }

interface Session {
  readonly client: Client
  /** Offered a value on each `notifications/tools/list_changed`. */
  readonly changed: Queue.Queue<void>
  /** Done when the connection ends (a stdio server that exits). */
  readonly closed: Deferred.Deferred<void>
}

/** Connects to a server; closing the scope closes the connection (and ends a stdio server). */
const connect = (spec: McpServerSpec) =>
  Effect.gen(function*() {
    const changed = yield* Queue.sliding<void>(1)
    const closed = yield* Deferred.make<void>()
    const client = new Client({ name: "dialog-bot", version: "1" }, { capabilities: {} })
    client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      Queue.unsafeOffer(changed, undefined)
    })
    client.onclose = () => {
      Deferred.unsafeDone(closed, Effect.void)
    }
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: (signal) => client.connect(transportOf(spec), { signal, timeout: Duration.toMillis(startTimeout) }),
        catch: (error) => new McpUnavailable({ server: spec.name, message: describe(error) })
      }).pipe(
        // A connection half made when the attempt fails or is interrupted is closed too.
        Effect.onExit((exit) => exit._tag === "Failure" ? Effect.promise(() => client.close()) : Effect.void)
      ),
      () => Effect.promise(() => client.close())
    )
    return { client, changed, closed } satisfies Session
  })

/** Every tool of a server, page by page. */
const listTools = (spec: McpServerSpec, client: Client) =>
  Effect.tryPromise({
    try: async (signal) => {
      const tools: Array<McpTool> = []
      let cursor: string | undefined
      do {
        const page = await client.listTools(cursor === undefined ? {} : { cursor }, { signal, timeout: Duration.toMillis(startTimeout) })
        tools.push(...page.tools)
        cursor = page.nextCursor
      } while (cursor !== undefined)
      return tools
    },
    catch: (error) => new McpUnavailable({ server: spec.name, message: `tools/list: ${describe(error)}` })
  })

/** One server's supervisor and what it offers now. */
const superviseServer = (spec: McpServerSpec, options: McpToolsOptions) =>
  Effect.gen(function*() {
    const tools = yield* Ref.make<ReadonlyArray<Tool>>([])
    const state = yield* Ref.make<ServerState>({ state: "starting" })
    const firstAttempt = yield* Deferred.make<void>()

    const publish = (client: Client, listed: ReadonlyArray<McpTool>) => {
      const byName = new Map<string, Tool>()
      for (const tool of listed) {
        const wrapped = toolOf(spec.name, client, tool, options)
        if (!byName.has(wrapped.name)) byName.set(wrapped.name, wrapped)
      }
      return Effect.zipRight(Ref.set(tools, [...byName.values()]), Ref.set(state, { state: "ready", tools: byName.size }))
    }

    /** Connects, lists, follows list changes until the connection ends; says how long it was ready. */
    const session = Effect.scoped(Effect.gen(function*() {
      const { changed, client, closed } = yield* connect(spec)
      yield* Effect.flatMap(listTools(spec, client), (listed) => publish(client, listed))
      const readyAt = yield* Clock.currentTimeMillis
      yield* Effect.logInfo(`MCP server ${spec.name} ready: ${(yield* Ref.get(tools)).length} tools`)
      yield* Deferred.succeed(firstAttempt, undefined)
      yield* Queue.take(changed).pipe(
        Effect.zipRight(listTools(spec, client)),
        Effect.flatMap((listed) => publish(client, listed)),
        Effect.tap(() => Effect.logInfo(`MCP server ${spec.name} changed its tools`)),
        Effect.catchAll((e) => Effect.logWarning(`MCP server ${spec.name}: cannot list its changed tools: ${e.message}`)),
        Effect.forever,
        Effect.forkScoped
      )
      yield* Deferred.await(closed)
      return Duration.millis((yield* Clock.currentTimeMillis) - readyAt)
    }))

    const supervise = Effect.gen(function*() {
      const delays = yield* Schedule.driver(options.restart ?? defaultRestart)
      let failures = 0
      for (;;) {
        const outcome = yield* Effect.either(session)
        yield* Ref.set(tools, [])
        if (outcome._tag === "Right") {
          failures = 0
          if (Duration.greaterThanOrEqualTo(outcome.right, stableAfter)) yield* delays.reset
          yield* Ref.set(state, { state: "restarting", reason: "the server stopped" })
          yield* Effect.logWarning(`MCP server ${spec.name} stopped; restarting it`)
        } else {
          failures++
          yield* Ref.set(state, { state: "failing", reason: outcome.left.message })
          // One line for a server that cannot start, not one per attempt.
          if (failures === 1) {
            yield* Effect.logWarning(`MCP server ${spec.name} cannot start, its tools are absent: ${outcome.left.message}`)
          } else {
            yield* Effect.logDebug(`MCP server ${spec.name} still cannot start: ${outcome.left.message}`)
          }
          yield* Deferred.succeed(firstAttempt, undefined)
        }
        yield* Effect.orElse(delays.next(undefined), () => Effect.never)
      }
    }).pipe(Effect.annotateLogs("mcp_server", spec.name))

    return { spec, tools, state, firstAttempt, supervise }
  })

/**
 * The tools of `servers` as a source of the registry, and their states for `/healthz` (`mcp`).
 * Building it waits for each server's first attempt to start (at most `startTimeout`).
 */
export const McpToolsLive = (
  servers: ReadonlyArray<McpServerSpec>,
  options: McpToolsOptions
): Layer.Layer<ToolSources | HealthReports> =>
  Layer.unwrapScoped(Effect.gen(function*() {
    const supervisors = yield* Effect.forEach(servers, (spec) => superviseServer(spec, options))
    yield* Effect.forEach(supervisors, (s) => Effect.forkScoped(s.supervise), { discard: true })
    yield* Effect.forEach(supervisors, (s) => Deferred.await(s.firstAttempt), { concurrency: "unbounded", discard: true })
    const { sources } = yield* ToolSources
    const { parts } = yield* HealthReports
    const states = Effect.map(
      Effect.forEach(supervisors, (s) => Effect.map(Ref.get(s.state), (state) => [s.spec.name, state] as const)),
      (entries) => Object.fromEntries(entries)
    )
    return Layer.mergeAll(
      Layer.succeed(ToolSources, {
        sources: [...sources, {
          prefixes: servers.map((spec) => `${spec.name}__`),
          current: Effect.map(Effect.forEach(supervisors, (s) => Ref.get(s.tools)), (lists) => lists.flat())
        }]
      }),
      Layer.succeed(HealthReports, { parts: { ...parts, mcp: states } })
    )
  }))
