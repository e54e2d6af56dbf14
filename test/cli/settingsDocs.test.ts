/**
 * The settings are one registry of owners (src/cli/settingsRegistry.ts), and what a person
 * reads about them is checked against it: each variable is read in one module and owned once,
 * `--help` names only variables that exist, `.env.example` lists every variable with its true
 * default, and the settings table of the docs lists every variable.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { isDeepStrictEqual } from "node:util"
import { CliConfig, Command, CommandDescriptor, HelpDoc } from "@effect/cli"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Either } from "effect"
import { type SettingsOwner, settingsPage as settingsFile, variablesOf } from "../../src/config.ts"
import { commandLine } from "../../src/cli/runBot.ts"
import { readByLibraries, settingsOwners } from "../../src/cli/settingsRegistry.ts"
import { webhookCommand } from "../../src/cli/webhookCommand.ts"

const root = new URL("../..", import.meta.url).pathname

/** The page whose table describes every setting: the file, and the headings around the table. */
const settingsPage = { file: settingsFile, from: "## Every setting", to: "## Writing the settings down" }

const sources = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

/** Each variable src/ reads with effect's Config or the shared setting helpers, with the files that read it. */
const readsInSources = (): ReadonlyMap<string, ReadonlyArray<string>> => {
  const files = new Map<string, Array<string>>()
  const pattern =
    /(?:Config\.\w+(?:\([^)]*\))?|duration|positiveInt|integerIn|nonNegativeInt|nonEmpty|userIds|pack|\)\))\(\s*"([A-Z][A-Z0-9_]+)"/g
  for (const file of sources(join(root, "src"))) {
    for (const match of readFileSync(file, "utf8").matchAll(pattern)) {
      const name = match[1] ?? ""
      const readers = files.get(name) ?? []
      const relative = file.slice(root.length)
      if (!readers.includes(relative)) readers.push(relative)
      files.set(name, readers)
    }
  }
  return files
}

/** Each variable with its one owner; fails the test on a variable owned twice. */
const ownership = Effect.gen(function*() {
  const owners = new Map<string, SettingsOwner>()
  const twice: Array<string> = []
  for (const { owner, through = [] } of settingsOwners) {
    const borrowed = new Set((yield* Effect.forEach(through, (other) => variablesOf(other.config))).flat())
    const read = yield* variablesOf(owner.config)
    // A declared `through` that no longer shares a variable is stale.
    expect(read.some((name) => borrowed.has(name)), `${owner.key} reads nothing through ${through.map((o) => o.key)}`)
      .toBe(through.length > 0)
    for (const name of read.filter((name) => !borrowed.has(name))) {
      const first = owners.get(name)
      if (first !== undefined) twice.push(`${name}: ${first.key} and ${owner.key}`)
      owners.set(name, owner)
    }
  }
  expect(twice).toEqual([])
  return owners
})

/** The value of an owner's settings with `given` set (its placeholders for the required ones). */
const read = (owner: SettingsOwner, given: Record<string, string>) =>
  Effect.either(
    Effect.withConfigProvider(
      owner.config,
      ConfigProvider.fromMap(new Map(Object.entries({ ...owner.placeholders, ...given })))
    )
  )

/** The variables of `.env.example` (`# NAME=value`, a comment after the value ignored). */
const exampleValues = (): ReadonlyMap<string, string> => {
  const text = readFileSync(join(root, ".env.example"), "utf8")
  return new Map([...text.matchAll(/^# ([A-Z][A-Z0-9_]+)=(.*)$/gm)].map((m) => [m[1]!, (m[2] ?? "").replace(/\s+#.*$/, "").trim()]))
}

/**
 * The variables the first cells of a table's rows name; `` `OPENAI_MODEL_CLASSIFY` / `_THINK` ``
 * names `OPENAI_MODEL_THINK` too.
 */
const documentedIn = (table: string): ReadonlyArray<string> =>
  [...table.matchAll(/^\| ([^|]+)\|/gm)].flatMap((row) => {
    const names = [...(row[1] ?? "").matchAll(/`([A-Z_][A-Z0-9_]*)`/g)].map((m) => m[1]!)
    const first = names[0] ?? ""
    return names.map((name) => name.startsWith("_") ? first.replace(/_[A-Z0-9]+$/, "") + name : name)
  })

const helpOf = <Name extends string, R, E, A>(command: Command.Command<Name, R, E, A>): string =>
  HelpDoc.toAnsiText(Command.getHelp(command, CliConfig.defaultConfig))

/** The text of every `--help`: the root, each command under it, and each under `webhook`. */
const helpTexts = (): ReadonlyArray<readonly [string, string]> => {
  const root = commandLine("dialog-bot", { run: "npm start", withArgs: "npm start --" })
  const under = <Name extends string, R, E, A>(path: string, parent: Command.Command<Name, R, E, A>) =>
    [...Command.getSubcommands(parent)].map(([name, sub]) => [`${path} ${name}`, HelpDoc.toAnsiText(CommandDescriptor.getHelp(sub, CliConfig.defaultConfig))] as const)
  return [["dialog-bot", helpOf(root)], ...under("dialog-bot", root), ...under("dialog-bot webhook", webhookCommand)]
}

describe("the settings", () => {
  it("each variable is read in one module: its owner's", () => {
    const readers = readsInSources()
    expect(readers.size).toBeGreaterThan(100)
    expect([...readers].filter(([, files]) => files.length > 1)).toEqual([])
  })

  it.effect("each variable read in src/ has exactly one owner in the registry", () =>
    Effect.gen(function*() {
      const owners = yield* ownership
      expect([...readsInSources().keys()].filter((name) => !owners.has(name)).sort()).toEqual([])
      expect([...owners.keys()].filter((name) => !readsInSources().has(name)).sort()).toEqual([])
    }))

  it.effect("each --help names only variables that have an owner", () =>
    Effect.gen(function*() {
      const owners = yield* ownership
      const helps = helpTexts()
      expect(helps.map(([path]) => path)).toContain("dialog-bot webhook set")
      for (const [path, text] of helps) {
        const reads = /Reads ([A-Z0-9_, ]+); every setting is described in/.exec(text.replace(/\s+/g, " "))
        expect(reads, `${path} --help names the variables it reads`).not.toBeNull()
        const named = (reads?.[1] ?? "").split(", ")
        expect(named.filter((name) => !owners.has(name)), path).toEqual([])
      }
    }))

  it.effect(".env.example lists every variable, each with its default", () =>
    Effect.gen(function*() {
      const owners = yield* ownership
      const example = exampleValues()
      expect([...owners.keys()].filter((name) => !example.has(name))).toEqual([])
      expect([...example.keys()].filter((name) => !owners.has(name) && !readByLibraries.includes(name))).toEqual([])
      const wrong: Array<string> = []
      for (const [name, value] of example) {
        const owner = owners.get(name)
        // An empty value is a variable with no default (unset is its default).
        if (owner === undefined || value === "") continue
        const defaults = yield* read(owner, {})
        const withExample = yield* read(owner, { [name]: value })
        if (Either.isLeft(withExample) || !isDeepStrictEqual(withExample, defaults)) {
          wrong.push(`${name}=${value}`)
        }
      }
      expect(wrong).toEqual([])
    }))

  it.effect(`the settings table (${settingsPage.file}) lists every variable, and only those`, () =>
    Effect.gen(function*() {
      const owners = yield* ownership
      const page = readFileSync(join(root, settingsPage.file), "utf8")
      const table = page.slice(page.indexOf(settingsPage.from), page.indexOf(settingsPage.to))
      expect(table.length).toBeGreaterThan(0)
      expect([...owners.keys()].filter((name) => !documentedIn(table).includes(name))).toEqual([])
      const rows = documentedIn(table)
      expect(rows.filter((name) => !owners.has(name) && !readByLibraries.includes(name))).toEqual([])
    }))

  it.effect(`the defaults in the settings table (${settingsPage.file}) are the owners' defaults`, () =>
    Effect.gen(function*() {
      const owners = yield* ownership
      const page = readFileSync(join(root, settingsPage.file), "utf8")
      const table = page.slice(page.indexOf(settingsPage.from), page.indexOf(settingsPage.to))
      const wrong: Array<string> = []
      let compared = 0
      for (const row of table.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \| ([^|]*) \|/gm)) {
        const name = row[1]!
        const cell = (row[2] ?? "").replace(/`/g, "").trim()
        const owner = owners.get(name)
        // A default described in words ("—", "not sent", "OpenAI's", "Telegram's default",
        // "<endpoint>/v1/traces", "`UPDATE_DEADLINE` + 10 s") is not a value to read.
        if (owner === undefined || cell === "—" || /[A-Z]{2,}_|'|<|\bnot\b|\bdefault\b/.test(cell)) continue
        const withCell = yield* read(owner, { [name]: cell })
        if (Either.isLeft(withCell)) continue
        compared++
        if (!isDeepStrictEqual(withCell, yield* read(owner, {}))) wrong.push(`${name}: ${cell}`)
      }
      expect(compared).toBeGreaterThan(60)
      expect(wrong).toEqual([])
    }))
})
