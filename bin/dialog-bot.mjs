#!/usr/bin/env node
// Package entry: runs the TypeScript CLI through tsx so `dialog-bot <command>` matches `npm start -- <command>`.
import { spawnSync } from "node:child_process"
import { createRequire } from "node:module"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"

const root = join(dirname(fileURLToPath(import.meta.url)), "..")
const require = createRequire(import.meta.url)
const tsxCli = require.resolve("tsx/cli")
const result = spawnSync(process.execPath, [tsxCli, join(root, "src/main.ts"), ...process.argv.slice(2)], {
  stdio: "inherit"
})
process.exit(result.status ?? 1)
