import { execFile } from "node:child_process"
import { promisify } from "node:util"
import { describe, expect, it } from "vitest"
import { heapGrowingPercent, heapGrowthFlag } from "../../src/runtime/HeapGrowth.ts"

const run = promisify(execFile)
const root = new URL("../../", import.meta.url).pathname

/**
 * A process that tunes its heap as the command line does (the compiled module, built by the
 * tests' global setup) and then makes garbage that lives long enough to reach the old
 * generation: a ring of 500,000 entries replaced in turn, at a steady live size. It prints the
 * largest heap it used.
 */
const churn = `
import { getHeapStatistics } from "node:v8"
import { tuneHeapGrowth } from ${JSON.stringify(`${root}dist/runtime/HeapGrowth.js`)}
tuneHeapGrowth()
const ring = new Array(500_000)
let peak = 0
for (let i = 0; i < 2_500_000; i++) {
  ring[i % ring.length] = { i, s: "x" + (i % 1000), a: [i, i + 1] }
  if (i % 10_000 === 0) peak = Math.max(peak, getHeapStatistics().used_heap_size)
}
process.stdout.write(String(Math.round(peak / 1048576)))
`

const peakHeapMb = async (nodeFlags: ReadonlyArray<string>): Promise<number> => {
  const { stdout } = await run(process.execPath, [...nodeFlags, "--input-type=module", "-e", churn])
  return Number(stdout)
}

describe("the heap's growth", () => {
  it("is set unless the operator chose it on node's command line", () => {
    expect(heapGrowthFlag([])).toBe(`--heap-growing-percent=${heapGrowingPercent}`)
    expect(heapGrowthFlag(["--max-old-space-size=512", "--enable-source-maps"])).toBe("--heap-growing-percent=25")
    expect(heapGrowthFlag(["--heap-growing-percent=100"])).toBeUndefined()
    expect(heapGrowthFlag(["--enable-source-maps", "--heap_growing_percent=20"])).toBeUndefined()
    expect(heapGrowthFlag(["--heap-growing-percent", "0"])).toBeUndefined()
  })

  it("keeps a process's heap smaller than V8's own growth does, and the operator's choice wins", async () => {
    // The operator's `--heap-growing-percent=0` is V8's default growth (up to 4× on this machine).
    const [tuned, own] = await Promise.all([peakHeapMb([]), peakHeapMb(["--heap-growing-percent=0"])])
    expect(tuned).toBeGreaterThan(0)
    expect(tuned).toBeLessThan(own * 0.75)
  })
})
