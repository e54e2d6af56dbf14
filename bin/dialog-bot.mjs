#!/usr/bin/env node
// Package entry: runs the compiled CLI (dist/, built by `npm run build`, which `npm ci`,
// `npm install` and `npm pack` run through `prepare`) in this process, so `dialog-bot
// <command>` matches `npm start -- <command>` and SIGTERM / SIGINT reach the bot itself: it
// drains and exits with its own code. Nothing is compiled at start.
//
// In a clone (src/ next to dist/) a dist/ older than the sources would run yesterday's code
// without a word, so the newest source file is compared with the build's stamp first (a few
// milliseconds) and a stale or missing build is one line and exit 1: `npm run build`, or
// `npm run dev` to run the sources through tsx. An installed package has no src/ and skips it.
import { existsSync, readdirSync, statSync } from "node:fs"
import { join } from "node:path"

const root = new URL("../", import.meta.url)
const sources = new URL("src/", root)

/** The newest modification time of the files under `dir`, and which file it is. */
const newest = (dir) => {
  let found = { path: "", time: 0 }
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    const path = join(entry.parentPath ?? entry.path, entry.name)
    const time = statSync(path).mtimeMs
    if (time > found.time) found = { path, time }
  }
  return found
}

if (existsSync(sources)) {
  const stamp = new URL("dist/.built", root)
  const changed = existsSync(stamp) ? newest(sources.pathname) : undefined
  if (changed === undefined || changed.time > statSync(stamp).mtimeMs) {
    const why = changed === undefined
      ? "dist/ is not built"
      : `dist/ is older than ${changed.path.slice(root.pathname.length)}`
    process.stderr.write(`dialog-bot: ${why}: run \`npm run build\` (or \`npm run dev\` to run the sources through tsx)\n`)
    process.exit(1)
  }
}

await import("../dist/main.js")
