// Part of `npm run build`, after `tsc -p tsconfig.build.json`: bundles the command line (what
// the bin, `npm start` and `node dist/main.js` run) from the compiled dist/ into dist/bundle/
// with esbuild, so that a start reads a few dozen files instead of about a thousand modules.
//
// - Bundled: the bot's own modules, `effect`, every `@effect/*` package (one copy of Effect in
//   the process, also in the parts loaded late) and the packages they bring (fast-check, pg,
//   ws, msgpackr, yaml…): a bare import in the bundle resolves from this package's folder, where
//   only its own dependencies are sure to be (a package it does not depend on may be missing or
//   another version there).
//   The Markdown parser and renderer (mdast, micromark) are bundled as well.
// - Imported from node_modules at run time: the native SQLite binding, and the large parts only
//   some configurations load — the openai SDK, YDB, MCP, unpdf — all dependencies of the
//   package, and OpenTelemetry's packages (its own, or peers of @effect/opentelemetry,
//   installed beside it).
// - Code split: what a configuration loads late (`import()`: the cluster, PostgreSQL, YDB,
//   OpenTelemetry…) is a chunk of its own, loaded when it is asked for, as before.
// - The SQLite worker thread is an entry of its own (`dist/bundle/worker/thread.js`, started
//   through `worker/boot.mjs` beside the chunks, as `SqliteWorker` finds it).
// - `dist/bundle/packages.json` names the packages in each output file (the lazy-loading test
//   reads it: a chunk loaded is its packages loaded).
// - `dist/main.js` becomes one import of the bundle. The library entries (`.`, `./testing`,
//   `./cli`) stay tsc's modules, so a team's own code shares its `effect` with them.
//
// The bundled modules sit two folders below the package root, as the compiled ones do
// (dist/<folder>/), so their paths relative to `import.meta.url` (the package root, the
// demo's recording, the worker's entry) are the same.
import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { dirname, relative } from "node:path"
import * as esbuild from "esbuild"

const root = new URL("../", import.meta.url).pathname
const dist = `${root}dist`
const out = `${dist}/bundle`

/** The package an import specifier or a node_modules path names (`@scope/name` or `name`). */
const packageOf = (specifier) => {
  const parts = specifier.split("/")
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]
}

const { dependencies } = JSON.parse(readFileSync(`${root}package.json`, "utf8"))

/** The package's dependencies that are imported from node_modules at run time rather than bundled. */
const installed = new Set(["better-sqlite3", "openai", "@modelcontextprotocol/sdk", "unpdf"])

const external = (name) =>
  installed.has(name) ||
  name.startsWith("@ydbjs/") ||
  name.startsWith("@opentelemetry/") ||
  // pg's optional native binding: pg loads it only when asked to, and it is not installed.
  name === "pg-native"

for (const name of installed) {
  if (!(name in dependencies)) throw new Error(`scripts/bundle.mjs: ${name} is not a dependency of the package`)
}

const externalPackages = {
  name: "external-packages",
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) =>
      args.path.startsWith("node:") || external(packageOf(args.path)) ? { path: args.path, external: true } : undefined)
  }
}

/**
 * Packages that the bundled libraries import but that no path of this command line calls,
 * each replaced by a small module in the bundle (together 310 KB, an eighth of what the demo
 * reads at start):
 * - YAML, TOML and INI parsers, imported by @effect/cli for options and arguments read from such
 *   files (`Options.fileParse`, config files). No command here takes one; were one to, its
 *   `parse` refuses and @effect/cli reports "Could not parse … file" with the reason below.
 * - fast-check (with pure-rand), re-exported by `effect/FastCheck` for `effect/Arbitrary`, which
 *   generates test data from schemas. Schemas refer to it only inside functions nothing here
 *   calls; the bot's tests and a team's code use the package's own `effect`, not this bundle.
 */
const unusedPackages = {
  name: "unused-packages",
  setup(build) {
    build.onResolve({ filter: /^(yaml|toml|ini)$/ }, (args) =>
      /node_modules\/@effect\/cli\//.test(args.importer) ? { path: args.path, namespace: "unread-format" } : undefined)
    build.onLoad({ filter: /.*/, namespace: "unread-format" }, (args) => ({
      contents: `export const parse = () => { throw new Error(${JSON.stringify(`${args.path} files are not read by this command line`)}) }\n`,
      loader: "js"
    }))
    build.onResolve({ filter: /^fast-check$/ }, (args) =>
      /node_modules\/effect\/dist\/esm\/FastCheck\.js$/.test(args.importer) ? { path: args.path, namespace: "no-test-data" } : undefined)
    build.onLoad({ filter: /.*/, namespace: "no-test-data" }, () => ({ contents: "export {}\n", loader: "js" }))
  }
}

const options = {
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  absWorkingDir: root,
  outdir: out,
  chunkNames: "[name]-[hash]",
  plugins: [externalPackages, unusedPackages],
  metafile: true,
  legalComments: "none",
  minifyWhitespace: true,
  minifySyntax: true,
  // The CommonJS packages bundled (pg, ws…) call `require` for Node's modules.
  banner: { js: 'import { createRequire as __bundleRequire } from "node:module";\nconst require = __bundleRequire(import.meta.url);' },
  logLevel: "warning",
  write: false
}
const [main, worker] = await Promise.all([
  esbuild.build({
    ...options,
    stdin: { contents: 'import { runBot } from "./cli/runBot.js"\nrunBot()\n', resolveDir: dist, sourcefile: "main.js" },
    splitting: true
  }),
  // The worker thread on its own: only the part of Effect it uses, parsed while the main thread starts.
  esbuild.build({ ...options, entryPoints: [{ in: `${dist}/store/sqlite/worker/thread.js`, out: "worker/thread" }] })
])
const result = {
  outputFiles: [...main.outputFiles, ...worker.outputFiles],
  metafile: { outputs: { ...main.metafile.outputs, ...worker.metafile.outputs } }
}

rmSync(out, { recursive: true, force: true })
/** The entry read from stdin is written as `main.js`. */
const named = (path) => (relative(out, path) === "stdin.js" ? `${out}/main.js` : path)
for (const file of result.outputFiles) {
  mkdirSync(dirname(file.path), { recursive: true })
  writeFileSync(named(file.path), file.contents)
}
copyFileSync(`${root}src/store/sqlite/worker/boot.mjs`, `${out}/worker/boot.mjs`)

const packages = {}
for (const [output, { inputs }] of Object.entries(result.metafile.outputs)) {
  const names = new Set()
  for (const input of Object.keys(inputs)) {
    const found = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(input)
    if (found !== null) names.add(found[1])
  }
  packages[relative(out, named(`${root}${output}`))] = [...names].sort()
}
writeFileSync(`${out}/packages.json`, `${JSON.stringify(packages, null, 1)}\n`)

writeFileSync(
  `${dist}/main.js`,
  "// The command line, bundled by scripts/bundle.mjs (`npm run build`).\nimport \"./bundle/main.js\"\n"
)
rmSync(`${dist}/main.js.map`, { force: true })
