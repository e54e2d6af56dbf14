import { readdirSync, readFileSync, statSync } from "node:fs"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"

const root = new URL("../..", import.meta.url).pathname

const sources = (dir: string): ReadonlyArray<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? sources(path) : path.endsWith(".ts") ? [path] : []
  })

/** Every variable src/ reads with effect's Config or the shared setting helpers. */
const settingsRead = (): ReadonlyArray<string> => {
  const names = new Set<string>()
  const pattern = /(?:Config\.\w+(?:\([^)]*\))?|duration|positiveInt|integerIn|nonNegativeInt)\(\s*"([A-Z][A-Z0-9_]+)"/g
  for (const file of sources(join(root, "src"))) {
    for (const match of readFileSync(file, "utf8").matchAll(pattern)) names.add(match[1] ?? "")
  }
  return [...names].sort()
}

describe("the settings are documented", () => {
  it("every variable read in src/ is in the README's configuration table and in .env.example", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    const table = readme.slice(readme.indexOf("## Configuration"), readme.indexOf("## Stores"))
    const example = readFileSync(join(root, ".env.example"), "utf8")
    const names = settingsRead()
    expect(names.length).toBeGreaterThan(50)
    expect(names.filter((name) => !table.includes(name))).toEqual([])
    expect(names.filter((name) => !new RegExp(`^# ${name}=`, "m").test(example))).toEqual([])
  })
})
