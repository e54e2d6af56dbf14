// Preloaded with `node --import` by bench/startup.ts: writes the process's peak resident set
// (kilobytes, from the kernel's own count) to the file in PEAK_RSS_FILE when it exits.
import { writeFileSync } from "node:fs"

const file = process.env.PEAK_RSS_FILE
if (file !== undefined) process.on("exit", () => writeFileSync(file, String(process.resourceUsage().maxRSS)))
