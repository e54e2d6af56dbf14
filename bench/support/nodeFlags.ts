/**
 * The node flags the bot runs with, read from `npm start` in package.json, so the bench runs
 * the bot's processes as users start them: `node --max-old-space-size=512 --import tsx
 * src/main.ts` would give `["--max-old-space-size=512"]` (today: `["--heap-growing-percent=25"]`).
 * `BENCH_BOT_NODE_FLAGS` replaces them, to measure a flag before adopting it:
 * `BENCH_BOT_NODE_FLAGS=--max-semi-space-size=64 npm run bench` (bench/README.md has that one).
 */
import { readFileSync } from "node:fs"

const root = new URL("../../", import.meta.url)

export const botNodeFlags = (): ReadonlyArray<string> => {
  const override = process.env["BENCH_BOT_NODE_FLAGS"]
  if (override !== undefined) return override.split(/\s+/).filter((flag) => flag !== "")
  const pkg = JSON.parse(readFileSync(new URL("package.json", root), "utf8")) as { scripts: Record<string, string> }
  const words = pkg.scripts.start!.split(/\s+/)
  const flags: Array<string> = []
  for (let i = words.indexOf("node") + 1; i < words.length && words[i]!.startsWith("--"); i++) {
    if (words[i] === "--import") i++
    else flags.push(words[i]!)
  }
  return flags
}
