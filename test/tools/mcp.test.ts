/**
 * Tools from MCP servers, against the example server of `mcp/exampleServer.ts` run over stdio
 * (a process of its own) and over Streamable HTTP (in this process, on 127.0.0.1).
 */
import { HttpServer } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Context, Deferred, Duration, Effect, Exit, Fiber, Layer, Logger, Ref, Schedule, Scope, TestClock } from "effect"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { makeStages } from "../../src/dialog/stages.ts"
import { DialogConfig } from "../../src/dialog/DialogConfig.ts"
import type { Client } from "../../src/domain/Dialog.ts"
import { TelegramId } from "../../src/domain/Update.ts"
import type { ToolContext } from "../../src/tools/Tool.ts"
import { LanguageModel } from "../../src/llm/LanguageModel.ts"
import { LanguageModelScripted, ScriptedModel } from "../../src/llm/ScriptedModel.ts"
import { BotProfile, type BotProfileData, checkStageTools, loadProfile, type ProfileFile } from "../../src/profile/BotProfile.ts"
import { HealthReports } from "../../src/telegram/Health.ts"
import { WebhookConfig } from "../../src/telegram/TelegramConfig.ts"
import { WebhookServerLive } from "../../src/telegram/WebhookServer.ts"
import { defaultProfilePath, runUpdates, testBot, textMessage } from "../../src/testing/index.ts"
import { builtinTools } from "../../src/tools/builtin/index.ts"
import { Tools, ToolsList } from "../../src/tools/Tools.ts"
import { ToolsConfig } from "../../src/tools/ToolsConfig.ts"
import type { McpServerSpec } from "../../src/tools/mcp/McpConfig.ts"
import { McpToolsLive, type McpToolsOptions, type ServerState } from "../../src/tools/mcp/McpTools.ts"
import { exampleServer, pixelPng } from "./mcp/exampleServer.ts"
import { serveOverHttp } from "./mcp/httpServer.ts"
import { noChoice } from "../../src/dialog/Choices.ts"

const stdioServer: McpServerSpec = {
  name: "files",
  kind: "stdio",
  stdio: {
    command: process.execPath,
    args: ["--import", "tsx", fileURLToPath(new URL("./mcp/stdioServer.ts", import.meta.url))],
    env: {}
  }
}

const httpServer = (name: string, url: string): McpServerSpec => ({ name, kind: "http", http: { url, headers: {} } })

const toolTimeout = Duration.seconds(5)

/** The registry with no tools of its own and the tools of `servers`; restarts come quickly. */
const registry = (servers: ReadonlyArray<McpServerSpec>, options: Partial<McpToolsOptions> = {}) =>
  ToolsList<never>([]).pipe(
    Layer.provideMerge(McpToolsLive(servers, { toolTimeout, vision: true, restart: Schedule.spaced("20 millis"), ...options })),
    Layer.provide(ToolsConfig.make({ toolTimeout }))
  )

/** The registry of `registry`, running until the test's scope closes, and the servers' states `/healthz` shows. */
const startRegistry = (servers: ReadonlyArray<McpServerSpec>, options: Partial<McpToolsOptions> = {}) =>
  Effect.map(Layer.build(registry(servers, options)), (built) => ({
    tools: Context.get(built, Tools),
    states: Context.get(built, HealthReports).parts["mcp"] as Effect.Effect<Record<string, ServerState>>
  }))

const context: ToolContext = { chatId: TelegramId.make(42), userId: TelegramId.make(42), updateId: TelegramId.make(1) }
const call = (name: string, args: object = {}) => ({ id: `call_${name}`, name, arguments: JSON.stringify(args) })

/** Waits (polling, without a deadline of its own: the test's timeout bounds it) until `check` holds. */
const eventually = <A, R>(effect: Effect.Effect<A, never, R>, check: (a: A) => boolean) =>
  effect.pipe(Effect.filterOrFail(check), Effect.retry(Schedule.spaced("20 millis")), Effect.orDie)

const client: Client = { id: TelegramId.make(42), firstName: "Ann", profile: {}, blocked: false, createdAt: 0 }

/** The shop profile, each stage also allowed every tool of the `files` server. */
const profileWithFiles = Layer.effect(
  BotProfile,
  Effect.map(loadProfile(defaultProfilePath), (profile): BotProfileData => {
    const [first, ...rest] = profile.stages.map((stage) => ({ ...stage, tools: [...stage.tools, "files__*"] }))
    return { ...profile, stages: [first!, ...rest] }
  })
).pipe(Layer.provide(NodeContext.layer), Layer.orDie)

describe("tools from an MCP server", () => {
  it.live("a think step calls a stdio server's tool and gives its answer back to the model", () =>
    Effect.gen(function*() {
      const scripted = yield* ScriptedModel
      yield* scripted.push(
        "think",
        { toolCalls: [{ name: "files__echo", arguments: { text: "hello" } }, { name: "files__picture", id: "call_picture" }] },
        "the server said hello and showed a pixel"
      )
      const stages = yield* makeStages
      const profile = yield* BotProfile
      const result = yield* stages.think(profile.stages[0]!, { client, choice: noChoice }, [], "say hello", context)

      expect(result.fallback).toBe(false)
      expect(result.results.map((r) => [r.name, r.ok, r.content])).toEqual([
        ["files__echo", true, "echo: hello"],
        ["files__picture", true, "a pixel\n[picture 1 (image/png), shown after the tool results]"]
      ])
      const [first, second] = yield* scripted.requests
      const echo = first!.tools?.find((tool) => tool.name === "files__echo")
      expect(echo?.description).toBe("Says the text back.")
      expect(echo?.parameters).toMatchObject({ type: "object", properties: { text: { type: "string", description: "what to say" } }, required: ["text"] })
      expect(first!.tools?.map((tool) => tool.name)).toContain("files__crash")
      // The tool messages, then the pictures the tools returned as a user message (a tool message carries text only).
      const [echoed, pictured, pictures] = second!.messages.slice(-3)
      expect(echoed).toEqual({ role: "tool", toolCallId: "call_1", content: "echo: hello" })
      expect(pictured).toMatchObject({ role: "tool", toolCallId: "call_picture" })
      expect(pictures).toMatchObject({ role: "user", content: "Pictures returned by files__picture (tool results, not the customer's message)." })
      expect(pictures?.role === "user" ? pictures.images?.map((image) => image.mimeType) : undefined).toEqual(["image/png"])
    }).pipe(
      Effect.provide(Layer.mergeAll(registry([stdioServer]), DialogConfig.make(), profileWithFiles, Layer.effect(LanguageModel, LanguageModel))),
      Effect.provide(LanguageModelScripted())
    ))

  it.scoped("results: structured content, pictures (or a note without vision), and errors the model can read", () =>
    Effect.gen(function*() {
      // One session per server: the example serves one client.
      const [first, second] = yield* Effect.all([serveOverHttp(exampleServer()), serveOverHttp(exampleServer())])
      const { tools: withVision } = yield* startRegistry([httpServer("crm", first.url)])
      const { tools: withoutVision } = yield* startRegistry([httpServer("crm", second.url)], { vision: false })
      const allowed = ["crm__*"]

      const sum = yield* withVision.execute(call("crm__sum", { a: 2, b: 3 }), allowed, context)
      expect(sum).toMatchObject({ ok: true, content: "{\"sum\":5}" })

      const picture = yield* withVision.execute(call("crm__picture"), allowed, context)
      expect(picture.ok).toBe(true)
      expect(picture.content).toBe("a pixel\n[picture 1 (image/png), shown after the tool results]")
      expect(picture.images?.map((image) => [image.mimeType, Buffer.from(image.data).toString("base64")])).toEqual([["image/png", pixelPng]])
      const unseen = yield* withoutVision.execute(call("crm__picture"), allowed, context)
      expect(unseen).toMatchObject({ ok: true, content: "a pixel\n[a picture (image/png) this model cannot look at]" })
      expect(unseen.images).toBeUndefined()

      const broken = yield* withVision.execute(call("crm__broken"), allowed, context)
      expect(broken).toMatchObject({ ok: false, content: JSON.stringify({ error: "the order system is down" }) })
      const invalid = yield* withVision.execute(call("crm__sum", { a: "two" }), allowed, context)
      expect(invalid.ok).toBe(false)
      expect(invalid.content).toContain("Input validation error")

      const notAllowed = yield* withVision.execute(call("crm__sum", { a: 1, b: 1 }), ["crm__echo"], context)
      expect(notAllowed).toMatchObject({ ok: false, content: JSON.stringify({ error: "unknown tool \"crm__sum\"; available: crm__echo" }) })
    }))

  it.scopedLive("a tool the server adds is offered after its tools/list_changed", () =>
    Effect.gen(function*() {
      const server = exampleServer()
      const { url } = yield* serveOverHttp(server)
      const { states, tools } = yield* startRegistry([httpServer("crm", url)])
      expect((yield* tools.specs(["crm__*"])).map((spec) => spec.name)).not.toContain("crm__refund")

      server.registerTool("refund", { description: "Refunds an order." }, () => ({ content: [{ type: "text", text: "refunded" }] }))
      yield* eventually(tools.specs(["crm__*"]), (specs) => specs.some((spec) => spec.name === "crm__refund"))
      expect(yield* tools.execute(call("crm__refund"), ["crm__refund"], context)).toMatchObject({ ok: true, content: "refunded" })
      expect(yield* states).toEqual({ crm: { state: "ready", tools: 7 } })
    }))

  it.scopedLive("a stdio server that exits is started again and its tools come back", () =>
    Effect.gen(function*() {
      const { states, tools } = yield* startRegistry([stdioServer])
      const allowed = ["files__*"]
      const before = yield* tools.execute(call("files__pid"), allowed, context)
      expect(before.ok).toBe(true)

      const crash = yield* tools.execute(call("files__crash"), allowed, context)
      expect(crash.ok).toBe(false)
      expect(crash.content).toContain("files: MCP error -32000: Connection closed")

      const after = yield* eventually(tools.execute(call("files__pid"), allowed, context), (result) => result.ok)
      expect(Number(after.content)).not.toBe(Number(before.content))
      expect(yield* states).toEqual({ files: { state: "ready", tools: 7 } })
    }))

  it.scopedLive("a Streamable HTTP server that restarts (a new session) is connected again", () =>
    Effect.gen(function*() {
      const before = yield* Scope.make()
      const { port, url } = yield* Scope.extend(serveOverHttp(exampleServer()), before)
      const { states, tools } = yield* startRegistry([httpServer("crm", url)])
      const echo = tools.execute(call("crm__echo", { text: "again" }), ["crm__*"], context)
      expect(yield* echo).toMatchObject({ ok: true })

      yield* Scope.close(before, Exit.void)
      yield* serveOverHttp(exampleServer(), port)
      expect(yield* eventually(echo, (result) => result.ok)).toMatchObject({ ok: true, content: "echo: again" })
      expect(yield* states).toEqual({ crm: { state: "ready", tools: 6 } })
    }))
})

describe("an MCP call interrupted", () => {
  /** The example server over HTTP, telling when `slow` starts and when its request is cancelled (with the reason). */
  const slowServer = Effect.gen(function*() {
    const started = yield* Deferred.make<void>()
    const cancelled = yield* Deferred.make<unknown>()
    const { url } = yield* serveOverHttp(exampleServer({
      onSlowStarted: () => Deferred.unsafeDone(started, Effect.void),
      onSlowCancelled: (reason) => Deferred.unsafeDone(cancelled, Effect.succeed(reason))
    }))
    return { url, started, cancelled }
  })

  /** A call of the `slow` tool, running: the server has started it. */
  const slowCallRunning = Effect.gen(function*() {
    const { cancelled, started, url } = yield* slowServer
    const { tools } = yield* startRegistry([httpServer("crm", url)])
    const running = yield* Effect.fork(tools.execute(call("crm__slow"), ["crm__slow"], context))
    yield* Deferred.await(started)
    return { running, cancelled }
  })

  it.scoped("by TOOL_TIMEOUT: the model reads a timeout and the server sees the request cancelled", () =>
    Effect.gen(function*() {
      const { cancelled, running } = yield* slowCallRunning
      yield* TestClock.adjust(toolTimeout)
      const result = yield* Fiber.join(running)
      expect(result).toMatchObject({ ok: false, content: JSON.stringify({ error: `timed out after ${Duration.toMillis(toolTimeout)} ms` }) })
      expect(String(yield* Deferred.await(cancelled))).toContain("AbortError")
    }))

  it.scoped("by the update's deadline: the user gets the apology and the server sees the request cancelled", () =>
    Effect.gen(function*() {
      const { cancelled, started, url } = yield* slowServer
      const profile = JSON.parse(readFileSync(defaultProfilePath, "utf8")) as ProfileFile
      const file = join(mkdtempSync(join(tmpdir(), "mcp-profile-")), "profile.json")
      writeFileSync(file, JSON.stringify({
        ...profile,
        knowledgeBase: join(dirname(defaultProfilePath), profile.knowledgeBase),
        stages: profile.stages.map((stage) => ({ ...stage, tools: [...stage.tools, "crm__*"] }))
      }))
      const deadline = Duration.seconds(30)
      const bot = yield* Layer.build(
        testBot({
          profile: file,
          script: { classify: ["general"], think: [{ toolCalls: [{ name: "crm__slow" }] }] },
          dispatcher: { updateDeadline: deadline },
          toolConfig: { toolTimeout: Duration.minutes(5) }
        }).pipe(Layer.provide(McpToolsLive([httpServer("crm", url)], { toolTimeout: Duration.minutes(5), vision: true })))
      )
      const turn = yield* Effect.fork(Effect.provide(runUpdates([textMessage({ userId: 901, text: "refund my order" })]), bot))
      yield* Deferred.await(started)
      yield* TestClock.adjust(deadline)
      const sent = yield* Fiber.join(turn)
      expect(String(yield* Deferred.await(cancelled))).toContain("AbortError")
      // The apology as the bot says it: the loaded profile's, in its default language.
      const { texts } = yield* Effect.provide(loadProfile(file), NodeContext.layer)
      expect(sent.map((message) => message.text)).toEqual([texts.apology])
    }))

  it.scoped("by the turn's end (its fiber interrupted): the server sees the request cancelled", () =>
    Effect.gen(function*() {
      const { cancelled, running } = yield* slowCallRunning
      yield* Fiber.interrupt(running)
      expect(String(yield* Deferred.await(cancelled))).toContain("AbortError")
    }))
})

describe("an MCP server that cannot start", () => {
  it.scopedLive("is one log line, its tools are absent, and the others work", () =>
    Effect.gen(function*() {
      const lines: Array<string> = []
      const attempts = yield* Ref.make(0)
      const logger = Logger.make(({ message }) => {
        lines.push(Array.isArray(message) ? message.join(" ") : String(message))
      })
      const missing: McpServerSpec = { name: "gone", kind: "stdio", stdio: { command: "/nonexistent/mcp-server", args: [], env: {} } }
      const { url } = yield* serveOverHttp(exampleServer())
      yield* Effect.gen(function*() {
        const { states: serverStates, tools } = yield* startRegistry([missing, httpServer("crm", url)], {
          restart: Schedule.spaced("5 millis").pipe(Schedule.tapOutput(() => Ref.update(attempts, (n) => n + 1)))
        })
        expect((yield* tools.all).map((spec) => spec.name).filter((name) => !name.startsWith("crm__"))).toEqual([])
        expect(yield* tools.execute(call("crm__echo", { text: "hi" }), ["crm__*", "gone__*"], context)).toMatchObject({ ok: true })
        yield* eventually(Ref.get(attempts), (n) => n >= 3)
        const states = yield* serverStates
        expect(states["gone"]?.state).toBe("failing")
        expect(states["crm"]).toEqual({ state: "ready", tools: 6 })
      }).pipe(Effect.scoped, Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
      const aboutGone = lines.filter((line) => line.includes("gone"))
      expect(aboutGone).toHaveLength(1)
      expect(aboutGone[0]).toMatch(/^MCP server gone cannot start, its tools are absent: .*ENOENT/)
    }))
})

describe("/healthz", () => {
  it.scopedLive("lists each MCP server's state; a server down does not make the bot degraded", () =>
    Effect.gen(function*() {
      const { url } = yield* serveOverHttp(exampleServer())
      const missing: McpServerSpec = { name: "gone", kind: "stdio", stdio: { command: "/nonexistent/mcp-server", args: [], env: {} } }
      const built = yield* Layer.build(
        WebhookServerLive().pipe(
          Layer.provideMerge(testBot()),
          Layer.provide(WebhookConfig.make({ allowNoSecret: true })),
          Layer.provide(McpToolsLive([httpServer("crm", url), missing], { toolTimeout, vision: true }))
        )
      )
      const address = Context.get(built, HttpServer.HttpServer).address
      if (address._tag !== "TcpAddress") return yield* Effect.die("expected a TCP address")
      const health = yield* Effect.promise(() => fetch(`http://127.0.0.1:${address.port}/healthz`).then((r) => r.json()))
      expect(health).toMatchObject({
        status: "ok",
        mcp: { crm: { state: "ready", tools: 6 }, gone: { state: "failing", reason: expect.stringContaining("ENOENT") } }
      })
    }))
})

describe("a stage's MCP tools at start", () => {
  it.effect("a configured server's tools pass by name or as server__*; another server's fail, named by the field", () =>
    Effect.gen(function*() {
      const profile = yield* loadProfile(defaultProfilePath)
      const [first, ...rest] = profile.stages
      const allowing = (tools: ReadonlyArray<string>): BotProfileData => ({ ...profile, stages: [{ ...first!, tools }, ...rest] })
      const registered = builtinTools.map((tool) => tool.name)
      yield* checkStageTools(allowing(["get_client_profile", "crm__*", "crm__find_order"]), registered, ["crm__"])
      const error = yield* Effect.flip(checkStageTools(allowing(["crm__*", "files__*"]), registered, ["crm__"]))
      expect(error.message).toBe(
        `stages[0].tools[1]: stage "${first!.id}" allows the tool "files__*", which is not registered\n` +
          `registered tools: ${registered.join(", ")}; MCP servers: crm__*`
      )
    }).pipe(Effect.provide(NodeContext.layer)))
})

