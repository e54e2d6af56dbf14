/**
 * Where each update's main-thread time goes, for several profiles of the same workload side
 * by side (W1's `BENCH_CPU_PROF` profiles of this bot and of grammY, say):
 *
 *   npx tsx bench/profileBudget.ts <updates> <name>=<file.cpuprofile> [<name>=<file>…]
 *
 * prints the sampled busy time per update in ms, by kind of code: effect's package (its
 * runtime, Schema, metrics), the other @effect packages, the garbage collector, the openai SDK,
 * node and native code (HTTP, sockets, timers, messages to worker threads), the bot's own
 * modules, grammY with its fetch, the bench's own code, other packages. Then, for each profile
 * against the last one (the peer): its time outside effect's package and the garbage
 * collector, and what those two could take at most for its total to match the peer's.
 */
import { loadProfile, moduleOf } from "./support/profile.ts"

const [updatesArg, ...named] = process.argv.slice(2)
const updates = Number(updatesArg)
const profiles = named.map((arg) => {
  const at = arg.indexOf("=")
  return at < 0 ? undefined : { name: arg.slice(0, at), file: arg.slice(at + 1) }
})
if (!(updates > 0) || profiles.length === 0 || profiles.some((p) => p === undefined)) {
  process.stderr.write("usage: npx tsx bench/profileBudget.ts <updates> <name>=<file.cpuprofile> [<name>=<file>…]\n")
  process.exit(2)
}

const kinds = [
  "effect",
  "@effect/*",
  "garbage collector",
  "openai",
  "node and native",
  "the bot's modules",
  "grammY and its fetch",
  "the bench's code",
  "other packages"
] as const
type Kind = (typeof kinds)[number]

const grammy = new Set(["grammy", "node-fetch", "abort-controller", "event-target-shim", "debug", "whatwg-url", "tr46", "webidl-conversions"])
const kindOf = (module: string): Kind =>
  module === "effect" ? "effect"
  : module.startsWith("@effect/") ? "@effect/*"
  : module === "(garbage collector)" ? "garbage collector"
  : module === "openai" ? "openai"
  : module.startsWith("node:") || module === "(native)" || module === "(program)" || module.startsWith("wasm://") ? "node and native"
  : module.startsWith("dist/") || module.startsWith("src/") ? "the bot's modules"
  : grammy.has(module) ? "grammY and its fetch"
  : module.startsWith("bench/") ? "the bench's code"
  : "other packages"

const budgets = profiles.map((p) => {
  const byKind = new Map<Kind, number>(kinds.map((k) => [k, 0]))
  let busy = 0
  loadProfile(p!.file).forEachSample((node, us) => {
    if (node.callFrame.functionName === "(idle)") return
    busy += us
    const kind = kindOf(moduleOf(node.callFrame))
    byKind.set(kind, byKind.get(kind)! + us)
  })
  return { name: p!.name, busy, byKind }
})

const perUpdate = (us: number) => (us / 1000 / updates).toFixed(2)
const width = Math.max(12, ...budgets.map((b) => b.name.length + 2))
console.log(`main-thread busy time per update, ms (${updates} updates)\n`)
console.log("".padEnd(22) + budgets.map((b) => b.name.padStart(width)).join(""))
for (const kind of kinds) {
  if (budgets.every((b) => b.byKind.get(kind) === 0)) continue
  console.log(kind.padEnd(22) + budgets.map((b) => perUpdate(b.byKind.get(kind)!).padStart(width)).join(""))
}
console.log("total".padEnd(22) + budgets.map((b) => perUpdate(b.busy).padStart(width)).join(""))

// The last profile is the reference (the peer): what each other one would have to give up to match it.
const reference = budgets[budgets.length - 1]!
for (const ours of budgets.slice(0, -1)) {
  const outside = ours.busy - ours.byKind.get("effect")! - ours.byKind.get("garbage collector")!
  const room = reference.busy - outside
  console.log(
    `\n${ours.name}: ${perUpdate(outside)} ms outside effect's package and the collector; ` +
      `to match ${reference.name}'s ${perUpdate(reference.busy)} ms, the two together could take ${perUpdate(Math.max(0, room))} ms ` +
      `(they take ${perUpdate(ours.busy - outside)} ms)`
  )
}
