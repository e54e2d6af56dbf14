/**
 * Vitest's global setup: `npm run build` once per test run, before any test file, so that the
 * process tests start the compiled bin (`node bin/dialog-bot.mjs`, what users run) instead of
 * compiling TypeScript at every start (the bundle, scripts/bundle.mjs). The build is incremental (dist/.tsbuildinfo): with
 * nothing changed it takes a few seconds.
 */
import { execFileSync } from "node:child_process"

const root = new URL("../..", import.meta.url).pathname

export default function buildOnce(): void {
  execFileSync(process.execPath, [`${root}node_modules/typescript/bin/tsc`, "-p", "tsconfig.build.json"], { cwd: root, stdio: "inherit" })
  execFileSync(process.execPath, [`${root}scripts/bundle.mjs`], { cwd: root, stdio: "inherit" })
  execFileSync(process.execPath, [`${root}scripts/build-assets.mjs`], { cwd: root, stdio: "inherit" })
}
