// Preloaded with `node --import` by test/process/lazyLoading.test.ts: writes the URL of every
// module the process loads, one a line, to the file in LOADED_MODULES_FILE. The hook runs in
// Node's loader thread and appends synchronously, so the list is whole when the process ends.
import { register } from "node:module"

register(
  "data:text/javascript," + encodeURIComponent(`
    import { appendFileSync } from "node:fs"
    let file
    export const initialize = (data) => { file = data.file }
    export const load = async (url, context, next) => {
      appendFileSync(file, url + "\\n")
      return next(url, context)
    }
  `),
  { data: { file: process.env.LOADED_MODULES_FILE } }
)
