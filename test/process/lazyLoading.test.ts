/**
 * A plain start loads only what it uses: `--help` and the demo replay (the compiled bin, as
 * users run it) load none of the packages that only some configurations need — the cluster,
 * PostgreSQL, YDB, OpenTelemetry, PDF text, MCP, the `openai` SDK of a live model endpoint and
 * its transcriptions, and for `--help` the Markdown parser. Each run lists the modules it
 * loaded through a loader hook (test/support/loadedModules.mjs); a file of the bundle
 * (dist/bundle/, scripts/bundle.mjs) counts as the packages its `packages.json` names. A
 * configuration that needs one of them (a trace collector) shows that the list sees modules
 * imported late, bundled or not. The package's entries, imported as a team's program does,
 * load none of them either (the `openai` SDK comes with the live model's layer when it is built).
 */
import { pathToFileURL } from "node:url"
import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { exitCode, root, start, startBot } from "../support/BotProcess.ts"

const hook = new URL("../support/loadedModules.mjs", import.meta.url).pathname

/** The packages of the parts a configuration asks for, by the name they are installed under. */
const configurationOnly = [
  "@effect/cluster",
  "@effect/rpc",
  "@effect/workflow",
  "@effect/sql-pg",
  "pg",
  "@ydbjs/core",
  "@ydbjs/query",
  "@effect/opentelemetry",
  "@opentelemetry/sdk-trace-base",
  "unpdf",
  "@modelcontextprotocol/sdk",
  "openai"
]
const markdownParser = ["mdast-util-from-markdown", "micromark", "micromark-extension-gfm"]
/** Packages the bundled libraries import and nothing here calls: left out of the bundle (scripts/bundle.mjs). */
const neverCalled = ["yaml", "toml", "ini", "fast-check", "pure-rand"]

/** The packages bundled into each file of dist/bundle/, as the build wrote them down. */
const bundledPackages = (fs: FileSystem.FileSystem) =>
  Effect.map(
    fs.readFileString(new URL("../../dist/bundle/packages.json", import.meta.url).pathname),
    (text) => JSON.parse(text) as Record<string, ReadonlyArray<string>>
  )

/** The packages among the loaded module URLs: `node_modules/<name>/…`, and those in the bundle's files. */
const packagesOf = (urls: ReadonlyArray<string>, bundle: Record<string, ReadonlyArray<string>>): ReadonlySet<string> =>
  new Set(urls.flatMap((url) => {
    const installed = /\/node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url)?.[1]
    if (installed !== undefined) return [installed]
    const file = /\/dist\/bundle\/(.+)$/.exec(url)?.[1]
    return file === undefined ? [] : bundle[file] ?? []
  }))

/** Runs the bin with `args` and `env` to its end; its exit code and the packages it loaded. */
const loadedBy = (args: ReadonlyArray<string>, env: Record<string, string> = {}) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const list = path.join(yield* fs.makeTempDirectoryScoped(), "modules.txt")
    const started = yield* startBot(args, { STORE: "memory", LOADED_MODULES_FILE: list, ...env }, { nodeFlags: ["--import", hook] })
    const code = yield* exitCode(started.child)
    const urls = (yield* fs.readFileString(list)).split("\n").filter((line) => line !== "")
    return { code, urls, packages: packagesOf(urls, yield* bundledPackages(fs)) }
  })

const live = (name: string, test: () => Effect.Effect<void, unknown, FileSystem.FileSystem | Path.Path | Scope.Scope>) =>
  it.scopedLive(name, () => Effect.provide(test(), NodeContext.layer), 90_000)

describe("a plain start loads only what it uses", () => {
  live("--help: no part a configuration asks for, no Markdown parser, no layer (a collector configured is not contacted)", () =>
    Effect.gen(function*() {
      const { code, packages, urls } = yield* loadedBy(["--help"], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" })
      expect(code).toBe(0)
      // The bot's bundle ran (not the sources through tsx), and Effect from it.
      expect(urls.some((url) => url.endsWith("/dist/bundle/main.js"))).toBe(true)
      expect(packages.has("effect")).toBe(true)
      expect(urls.some((url) => url.includes("/node_modules/tsx/"))).toBe(false)
      expect([...configurationOnly, ...markdownParser, ...neverCalled].filter((name) => packages.has(name))).toEqual([])
    }))

  live("the demo replay: no part a configuration asks for", () =>
    Effect.gen(function*() {
      const { code, packages } = yield* loadedBy([])
      expect(code).toBe(0)
      // The answers are rendered: the parser is loaded with the pipeline's layer.
      expect(packages.has("mdast-util-from-markdown")).toBe(true)
      expect([...configurationOnly, ...neverCalled].filter((name) => packages.has(name))).toEqual([])
    }))

  live("the package's entries (`.`, `./cli`, `./testing`), imported as a team's program does: no part a configuration asks for", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const list = path.join(yield* fs.makeTempDirectoryScoped(), "modules.txt")
      const entries = ["dist/index.js", "dist/cli/index.js", "dist/testing/index.js"].map((entry) => pathToFileURL(path.join(root, entry)).href)
      const script = entries.map((url) => `await import(${JSON.stringify(url)})`).join("\n")
      const started = yield* start(process.execPath, ["--import", hook, "--input-type=module", "-e", script], { LOADED_MODULES_FILE: list })
      expect(yield* exitCode(started.child), started.output()).toBe(0)
      const urls = (yield* fs.readFileString(list)).split("\n").filter((line) => line !== "")
      // The package's own compiled modules, not the bundle: a team's code shares their `effect`.
      expect(urls.some((url) => url.endsWith("/dist/llm/OpenAiLayers.js"))).toBe(true)
      expect(urls.some((url) => url.includes("/dist/bundle/"))).toBe(false)
      expect(configurationOnly.filter((name) => packagesOf(urls, {}).has(name))).toEqual([])
    }))

  live("a trace collector configured: OpenTelemetry is loaded when its layer is built", () =>
    Effect.gen(function*() {
      const { code, packages } = yield* loadedBy([], { OTEL_EXPORTER_OTLP_ENDPOINT: "http://127.0.0.1:1" })
      expect(code).toBe(0)
      expect(packages.has("@effect/opentelemetry")).toBe(true)
      expect(packages.has("@effect/cluster")).toBe(false)
    }))
})
