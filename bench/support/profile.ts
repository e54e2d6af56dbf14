/**
 * Reading a V8 CPU profile (`.cpuprofile`, as `node --cpu-prof` or `BENCH_CPU_PROF` of the
 * bench's systems write them): each sample's node, its interval, and where its code lives.
 * Used by `profileSummary.ts` and `profileBudget.ts`.
 */
import { readFileSync } from "node:fs"

export interface CallFrame {
  readonly functionName: string
  readonly url: string
  readonly lineNumber: number
}

export interface ProfileNode {
  readonly id: number
  readonly callFrame: CallFrame
  readonly children?: ReadonlyArray<number>
}

interface Profile {
  readonly nodes: ReadonlyArray<ProfileNode>
  readonly samples: ReadonlyArray<number>
  readonly timeDeltas: ReadonlyArray<number>
}

export interface LoadedProfile {
  readonly samples: number
  readonly byId: ReadonlyMap<number, ProfileNode>
  readonly parent: ReadonlyMap<number, number>
  /** Calls `f` with each sample's node and its time in µs (the interval up to the next sample). */
  readonly forEachSample: (f: (node: ProfileNode, us: number) => void) => void
}

export const loadProfile = (file: string): LoadedProfile => {
  const profile = JSON.parse(readFileSync(file, "utf8")) as Profile
  const byId = new Map<number, ProfileNode>()
  const parent = new Map<number, number>()
  for (const node of profile.nodes) {
    byId.set(node.id, node)
    for (const child of node.children ?? []) parent.set(child, node.id)
  }
  return {
    samples: profile.samples.length,
    byId,
    parent,
    forEachSample: (f) =>
      profile.samples.forEach((id, i) => {
        const node = byId.get(id)
        if (node !== undefined) f(node, profile.timeDeltas[i + 1] ?? 0)
      })
  }
}

/** Where a frame's code lives: a package, a file of the project (its sources or its build), node itself. */
export const moduleOf = (frame: CallFrame): string => {
  const url = frame.url
  if (url === "") {
    return frame.functionName === "(garbage collector)" || frame.functionName === "(idle)" || frame.functionName === "(program)"
      ? frame.functionName
      : "(native)"
  }
  if (url.startsWith("node:")) return "node:" + url.slice(5).split("/")[0]
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)
  if (pkg !== null) return pkg[1]!
  const project = /\/((?:src|bench|test|dist)\/.*)$/.exec(url)
  return project !== null ? project[1]! : url
}
