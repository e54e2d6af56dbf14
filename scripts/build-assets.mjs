// The second half of `npm run build` (after `tsc -p tsconfig.build.json`): copies the files
// the compiled program reads at run time that tsc does not emit (the SQLite worker's plain-JS
// entry), then stamps the build: `bin/dialog-bot.mjs` compares the stamp with the sources to
// tell a stale dist/ in a clone.
import { copyFileSync, mkdirSync, writeFileSync } from "node:fs"
import { dirname } from "node:path"

const root = new URL("../", import.meta.url)
const assets = ["store/sqlite/worker/boot.mjs"]

for (const asset of assets) {
  const to = new URL(`dist/${asset}`, root)
  mkdirSync(dirname(to.pathname), { recursive: true })
  copyFileSync(new URL(`src/${asset}`, root), to)
}
writeFileSync(new URL("dist/.built", root), `${new Date().toISOString()}\n`)
