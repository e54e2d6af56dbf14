/**
 * `node --import ./recordLoads.mjs`: every module the process loads (its URL) is appended to the
 * file `RECORD_LOADS` names, one per line, by a loader hook — ES modules and the CommonJS ones
 * they import alike.
 */
import { register } from "node:module"

register("./recordLoads.hooks.mjs", import.meta.url, { data: { file: process.env.RECORD_LOADS } })
