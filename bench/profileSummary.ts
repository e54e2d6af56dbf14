/**
 * The top entries of a V8 CPU profile (`.cpuprofile`, as `node --cpu-prof` or `BENCH_CPU_PROF`
 * of the bench's systems write them):
 *
 *   npx tsx bench/profileSummary.ts <file.cpuprofile> [top=25]
 *
 * prints the sampled time by module (a package of node_modules, a file of src/, node's own
 * internals, the garbage collector, idle), self and total (the module anywhere on the stack), then the functions with the most self time and the
 * functions with the most total time (self plus callees, each function counted once per
 * sample however deep it recurs). Times are the samples' own intervals; idle time (the event
 * loop waiting) is left out of the shares.
 */
import { type CallFrame, loadProfile, moduleOf } from "./support/profile.ts"

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write("usage: npx tsx bench/profileSummary.ts <file.cpuprofile> [top]\n")
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = loadProfile(file)
const { byId, parent } = profile

const functionOf = (frame: CallFrame): string => {
  const url = frame.url
  const short = url === "" ? "" : ` ${moduleOf(frame)}${url.includes("node_modules") ? `/${url.split("/").at(-1)}` : ""}:${frame.lineNumber + 1}`
  return `${frame.functionName || "(anonymous)"}${short}`
}

const self = new Map<string, number>()
const total = new Map<string, number>()
const modules = new Map<string, number>()
const modulesTotal = new Map<string, number>()
let busy = 0
let idle = 0
const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us)

profile.forEachSample((node, us) => {
  if (node.callFrame.functionName === "(idle)") {
    idle += us
    return
  }
  busy += us
  add(self, functionOf(node.callFrame), us)
  add(modules, moduleOf(node.callFrame), us)
  const seen = new Set<string>()
  const seenModules = new Set<string>()
  for (let current: number | undefined = node.id; current !== undefined; current = parent.get(current)) {
    const frame = byId.get(current)?.callFrame
    if (frame === undefined || frame.functionName === "(root)") continue
    const module = moduleOf(frame)
    if (!seenModules.has(module)) {
      seenModules.add(module)
      add(modulesTotal, module, us)
    }
    const key = functionOf(frame)
    if (seen.has(key)) continue
    seen.add(key)
    add(total, key, us)
  }
})

const ms = (us: number) => (us / 1000).toFixed(1).padStart(9)
const pct = (us: number) => `${((100 * us) / Math.max(1, busy)).toFixed(1).padStart(5)} %`
const print = (title: string, map: Map<string, number>) => {
  console.log(`\n${title}`)
  for (const [key, us] of [...map.entries()].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${ms(us)} ms ${pct(us)}  ${key}`)
  }
}

console.log(`${file}: ${(busy / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle, ${profile.samples} samples`)
print("self time by module", modules)
print("total time by module (the module anywhere on the stack)", modulesTotal)
print("self time by function", self)
print("total time by function", total)
