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
import { readFileSync } from "node:fs"

interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

const [file, topArg] = process.argv.slice(2)
if (file === undefined) {
  process.stderr.write("usage: npx tsx bench/profileSummary.ts <file.cpuprofile> [top]\n")
  process.exit(2)
}
const top = Number(topArg ?? 25)
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile

const byId = new Map<number, ProfileNode>()
const parent = new Map<number, number>()
for (const node of profile.nodes) {
  byId.set(node.id, node)
  for (const child of node.children ?? []) parent.set(child, node.id)
}

/** Where a frame's code lives: a package, a file of the project, node itself. */
const moduleOf = (frame: CallFrame): string => {
  const url = frame.url
  if (url === "") {
    return frame.functionName === "(garbage collector)" || frame.functionName === "(idle)" || frame.functionName === "(program)"
      ? frame.functionName
      : "(native)"
  }
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0]
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1]!
  const project = /\/((?:src|bench|test)\/.*)$/.exec(url)
  return project !== null ? project[1]! : url
}

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

profile.samples.forEach((id, i) => {
  // A sample's time is the interval up to the next sample.
  const us = profile.timeDeltas[i + 1] ?? 0
  const node = byId.get(id)
  if (node === undefined) return
  if (node.callFrame.functionName === "(idle)") {
    idle += us
    return
  }
  busy += us
  add(self, functionOf(node.callFrame), us)
  add(modules, moduleOf(node.callFrame), us)
  const seen = new Set<string>()
  const seenModules = new Set<string>()
  for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
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

console.log(`${file}: ${(busy / 1000).toFixed(0)} ms busy, ${(idle / 1000).toFixed(0)} ms idle, ${profile.samples.length} samples`)
print("self time by module", modules)
print("total time by module (the module anywhere on the stack)", modulesTotal)
print("self time by function", self)
print("total time by function", total)
