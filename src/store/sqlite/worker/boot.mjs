// Entry of the SQLite worker thread. In the compiled build (`npm run build`, dist/) the
// program next to it is `thread.js`; from the sources it is `thread.ts`, loaded through tsx's
// API, which works whatever loader the parent thread runs under (Node 20 does not pass a
// parent's module hooks on to a worker).
import { existsSync } from "node:fs"

const compiled = new URL("./thread.js", import.meta.url)
if (existsSync(compiled)) {
  await import(compiled.href)
} else {
  const { tsImport } = await import("tsx/esm/api")
  await tsImport("./thread.ts", import.meta.url)
}
