/**
 * Vitest's global setup: `npm run build` once per test run, before any test file, so that the
 * process tests start the compiled bin (`node bin/dialog-bot.mjs`, what users run: the bundle of
 * scripts/bundle.mjs) instead of compiling TypeScript at every start. The build's steps are
 * package.json's, in one place. tsc is incremental (dist/.tsbuildinfo): with nothing changed the
 * build takes a few seconds.
 */
import { execFileSync } from "node:child_process"

const root = new URL("../..", import.meta.url).pathname

export default function buildOnce(): void {
  execFileSync("npm", ["run", "--silent", "build"], { cwd: root, stdio: "inherit" })
}
