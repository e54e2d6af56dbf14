// Preloaded with `node --import` by bench/startup.ts: writes the process's peak resident set
// (kilobytes, from the kernel's own count) and the CPU time it spent (user + system,
// microseconds) to the file in PEAK_RSS_FILE when it exits, as `maxRSS cpu`. The CPU time
// is the figure to compare on a shared machine: a busy neighbour stretches the wall clock,
// not the work.
import { writeFileSync } from "node:fs"

const file = process.env.PEAK_RSS_FILE
if (file !== undefined) {
  process.on("exit", () => {
    const usage = process.resourceUsage()
    writeFileSync(file, `${usage.maxRSS} ${usage.userCPUTime + usage.systemCPUTime}`)
  })
}
