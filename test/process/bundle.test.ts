/**
 * The command line's bundle (dist/bundle/, scripts/bundle.mjs) as the build wrote it: every
 * file of it — also the chunks only some configurations load (the cluster, PostgreSQL, YDB,
 * OpenTelemetry, MCP), which no other test starts from the bin — loads in a fresh Node process:
 * every package the bundle imports from node_modules resolves from the package's folder.
 * `packages.json` names every file. (The CommonJS packages in the bundle, pg and ws among them,
 * run when first used: the process tests on PostgreSQL and the cluster's run them.)
 */
import { readdirSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { pathToFileURL } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exitCode, root, start } from "../support/BotProcess.ts"

const bundle = join(root, "dist", "bundle")

describe("the command line's bundle", () => {
  it.scopedLive("every file loads in a fresh process; packages.json names each", () =>
    Effect.gen(function*() {
      const files = [
        ...readdirSync(bundle).filter((name) => name.endsWith(".js")),
        ...readdirSync(join(bundle, "worker")).filter((name) => name.endsWith(".js")).map((name) => `worker/${name}`)
      ]
      const named = Object.keys(JSON.parse(readFileSync(join(bundle, "packages.json"), "utf8")) as Record<string, unknown>)
      expect([...named].sort()).toEqual([...files].sort())
      // The entry runs the command line and the worker's entry waits for its parent: the others are only loaded.
      const chunks = files.filter((name) => name !== "main.js" && !name.startsWith("worker/"))
      expect(chunks.length).toBeGreaterThan(20)
      const script = [
        "const failed = []",
        ...chunks.map((name) =>
          `await import(${JSON.stringify(pathToFileURL(join(bundle, name)).href)}).catch((e) => failed.push(${JSON.stringify(name)} + ": " + e))`
        ),
        "console.log(JSON.stringify(failed))",
        "process.exit(0)"
      ].join("\n")
      const started = yield* start(process.execPath, ["--input-type=module", "-e", script])
      expect(yield* exitCode(started.child), started.output()).toBe(0)
      expect(JSON.parse(started.stdout().trim().split("\n").at(-1) ?? "null")).toEqual([])
    }), 60_000)
})
