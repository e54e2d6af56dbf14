import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { settingsPage } from "../../src/config.ts"

const root = new URL("../..", import.meta.url).pathname

const sources = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

/** Every variable src/ reads with effect's Config or the shared setting helpers. */
const settingsRead = (): ReadonlyArray<string> => {
  const names = new Set<string>()
  const pattern = /(?:Config\.\w+(?:\([^)]*\))?|duration|nonEmpty|positiveInt|integerIn|nonNegativeInt)\(\s*"([A-Z][A-Z0-9_]+)"/g
  for (const file of sources(join(root, "src"))) {
    for (const match of readFileSync(file, "utf8").matchAll(pattern)) names.add(match[1] ?? "")
  }
  return [...names].sort()
}

/** The rows of the settings table: from its header row to the first line that is not a row. */
const settingsTable = (page: string): ReadonlyArray<string> => {
  const lines = page.split("\n")
  const header = lines.indexOf("| variable | default | meaning |")
  if (header < 0) return []
  const end = lines.findIndex((line, index) => index > header && !line.startsWith("|"))
  return lines.slice(header + 2, end < 0 ? lines.length : end)
}

describe("the settings are documented", () => {
  it("every variable read in src/ is in the settings table and in .env.example", () => {
    const rows = settingsTable(readFileSync(join(root, settingsPage), "utf8"))
    const example = readFileSync(join(root, ".env.example"), "utf8")
    const names = settingsRead()
    expect(names.length).toBeGreaterThan(50)
    expect(names.filter((name) => !rows.some((row) => row.includes(`\`${name}\``)))).toEqual([])
    expect(names.filter((name) => !new RegExp(`^# ${name}=`, "m").test(example))).toEqual([])
  })
})
