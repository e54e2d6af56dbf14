// Entry of the SQLite worker thread: loads the TypeScript program through tsx's API, which
// works whatever loader the parent thread runs under (Node 20 does not pass a parent's module
// hooks on to a worker).
import { tsImport } from "tsx/esm/api"

await tsImport("./thread.ts", import.meta.url)
