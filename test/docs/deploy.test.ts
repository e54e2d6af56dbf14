/**
 * The recipes of `deploy/` (the systemd unit, the Dockerfile, the compose file) name only what
 * exists: each `dialog-bot` command they run is a command of the command line, each setting
 * they set is owned in the settings registry, and each file the Dockerfile copies from the
 * build is in the repository or made by `npm ci` (`dist/`, `node_modules/`).
 */
import { existsSync, readFileSync } from "node:fs"
import { join } from "node:path"
import { Command } from "@effect/cli"
import { describe, expect, it } from "@effect/vitest"
import { Effect, HashMap } from "effect"
import { variablesOf } from "../../src/config.ts"
import { commandLine } from "../../src/cli/runBot.ts"
import { readByLibraries, settingsOwners } from "../../src/cli/settingsRegistry.ts"

const root = new URL("../..", import.meta.url).pathname
const recipe = (name: string) => readFileSync(join(root, "deploy", name), "utf8")
const recipes = { unit: recipe("dialog-bot.service"), dockerfile: recipe("Dockerfile"), compose: recipe("compose.yaml") }

/** Every variable the bot reads (or a library it uses reads). */
const knownSettings = Effect.map(
  Effect.forEach(settingsOwners, ({ owner }) => variablesOf(owner.config)),
  (names) => new Set([...names.flat(), ...readByLibraries])
)

const commands = new Set(HashMap.keys(Command.getSubcommands(commandLine("dialog-bot", { run: "", withArgs: "" }))))

/** The commands run as `node dist/main.js <command>`, in a shell line or an exec-form array. */
const commandsRun = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/dist\/main\.js"?,?\s*"?([a-z][a-z-]*)/g)].map((m) => m[1]!)

/** Settings a recipe sets: `ENV A=… B=…` lines of a Dockerfile; `KEY: value` under a compose `environment`. */
const dockerfileSettings = (text: string): ReadonlyArray<string> =>
  [...text.matchAll(/^ENV (.+)$/gm)].flatMap((m) => [...(m[1] ?? "").matchAll(/([A-Z][A-Z0-9_]*)=/g)].map((n) => n[1]!))

const composeSettings = (text: string): ReadonlyArray<string> => {
  const names: Array<string> = []
  let inEnvironment = false
  let depth = 0
  for (const line of text.split("\n")) {
    const indent = line.length - line.trimStart().length
    if (/^\s*environment:/.test(line)) {
      inEnvironment = true
      depth = indent
      continue
    }
    if (inEnvironment && line.trim() !== "" && indent <= depth) inEnvironment = false
    const key = /^\s+([A-Z][A-Z0-9_]*):/.exec(line)?.[1]
    if (inEnvironment && key !== undefined) names.push(key)
  }
  return names
}

/** Read by others, not the bot: the PostgreSQL image, and Node's packages (`NODE_ENV`). */
const readByOthers = new Set(["POSTGRES_USER", "POSTGRES_PASSWORD", "POSTGRES_DB", "NODE_ENV"])

describe("deploy/", () => {
  it("the systemd unit runs migrate, then serve, with 30 s for the drain", () => {
    expect(commandsRun(recipes.unit)).toEqual(["migrate", "serve"])
    expect(recipes.unit).toMatch(/^TimeoutStopSec=30$/m)
    expect(recipes.unit).toMatch(/^KillSignal=SIGTERM$/m)
  })

  it("every command the recipes run is a command of the command line", () => {
    const run = [...commandsRun(recipes.unit), ...commandsRun(recipes.dockerfile), ...commandsRun(recipes.compose)]
    expect(run.length).toBeGreaterThanOrEqual(5)
    expect(run.filter((command) => !commands.has(command))).toEqual([])
  })

  it.effect("every setting the recipes set is owned in the settings registry", () =>
    Effect.gen(function*() {
      const known = yield* knownSettings
      const set = [...dockerfileSettings(recipes.dockerfile), ...composeSettings(recipes.compose)]
      expect(set).toEqual(expect.arrayContaining(["STORE", "SQLITE_PATH", "PORT", "DATABASE_URL", "TELEGRAM_BOT_TOKEN", "WEBHOOK_SECRET"]))
      expect(set.filter((name) => !known.has(name) && !readByOthers.has(name))).toEqual([])
    }))

  it("the Dockerfile copies what the repository has or npm ci makes, and its health check asks /readyz", () => {
    const copied = [...recipes.dockerfile.matchAll(/^COPY --from=build \/app\/(\S+)/gm)].map((m) => m[1]!)
    expect(copied.length).toBeGreaterThan(3)
    expect(copied.filter((path) => !["dist", "node_modules"].includes(path) && !existsSync(join(root, path)))).toEqual([])
    expect(recipes.dockerfile).toContain("/readyz")
    expect(recipes.compose).toContain("dockerfile: deploy/Dockerfile")
  })
})
