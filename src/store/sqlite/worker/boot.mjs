// Entry of the SQLite worker thread. In the compiled build (`npm run build`, dist/) the
// program next to it is `thread.js`. From the sources it is the build's bundled worker
// (dist/bundle/worker/thread.js) when that is newer than the worker's sources (`thread.ts`,
// `protocol.ts`): it starts in a few tens of milliseconds, where tsx takes some 200 ms to start
// in a thread. Otherwise it is `thread.ts`, loaded through tsx's API, which works whatever loader
// the parent thread runs under (Node 20 does not pass a parent's module hooks on to a worker).
import { existsSync, statSync } from "node:fs"

const compiled = new URL("./thread.js", import.meta.url)
const built = new URL("../../../../dist/bundle/worker/thread.js", import.meta.url)
const sources = ["./thread.ts", "./protocol.ts"].map((path) => new URL(path, import.meta.url))
const builtIsCurrent = () =>
  existsSync(built) && sources.every((source) => existsSync(source) && statSync(source).mtimeMs <= statSync(built).mtimeMs)

if (existsSync(compiled)) {
  await import(compiled.href)
} else if (builtIsCurrent()) {
  await import(built.href)
} else {
  const { tsImport } = await import("tsx/esm/api")
  await tsImport("./thread.ts", import.meta.url)
}
