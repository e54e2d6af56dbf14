/**
 * The layering of `src/` stays true: every relative import of a module points to its own part
 * or to a part below it. The parts, from the bottom up:
 *
 *   domain, config.ts, http,  Telegram and dialog records, errors, settings helpers, transport,
 *   effect                    small helpers over effect itself (lazy retries)
 *   observability             metrics, spans, tracing, logging
 *   profile, store, usage     the bot's profile; clients, history and the inbox; the usage ledger
 *   llm, telegram             language models; the Bot API, sending, webhook and poller
 *   tools, media, handoff,    tools the model may call;
 *   payments                  Telegram Stars invoices and credits; voice, pictures and documents into the user's turn;
 *                             human handoff (topics in the operators' chat, kept in the store)
 *   dialog                    the pipeline and its in-chat commands
 *   runtime                   dispatcher, chat queue, update runner, the layer graph
 *   cluster                   the chats' queues on @effect/cluster (several replicas)
 *   replay                    transcripts, replay, update recording, the offline bot
 *   testing, index.ts         the testing kit and the public API
 *   cli                       commands
 *   main.ts                   the entry point
 *
 * So `telegram/` never imports `runtime/` (it hands updates to an `Intake` defined in it),
 * `llm/` never imports `dialog/`, and nothing but `main.ts` imports `cli/`.
 *
 * And nothing imports itself round a loop: no cycle between files, and none between parts
 * (parts of one rank may import each other one way only). Type-only imports count: erased at
 * run time, they still tie two modules so that neither can be read, moved or tested without the
 * other. What two files of a cycle share goes to a third they both import.
 */
import { readdirSync, readFileSync, statSync } from "node:fs"
import { dirname, join, normalize, relative } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

const src = join(dirname(fileURLToPath(import.meta.url)), "../../src")

const rank: Record<string, number> = {
  domain: 0,
  config: 0,
  http: 0,
  effect: 0,
  observability: 1,
  profile: 2,
  store: 2,
  usage: 2,
  llm: 3,
  telegram: 3,
  tools: 4,
  media: 4,
  handoff: 4,
  payments: 4,
  dialog: 5,
  runtime: 6,
  cluster: 6.5,
  replay: 7,
  testing: 8,
  index: 8,
  cli: 9,
  main: 10
}

const files = (dir: string): Array<string> =>
  readdirSync(dir).flatMap((name) => {
    const path = join(dir, name)
    return statSync(path).isDirectory() ? files(path) : /\.(ts|mjs)$/.test(name) ? [path] : []
  })

/** The part of `src/` a path belongs to: its first folder, or the file's name without extension. */
const partOf = (path: string): string => relative(src, path).split("/")[0]!.replace(/\.(ts|mjs)$/, "")

/** Relative module specifiers of a source text: static imports, re-exports and dynamic imports. */
const specifiers = (text: string): Array<string> =>
  [...text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*|^import\s+)["'](\.{1,2}\/[^"']+)["']/gm)].map((m) => m[1]!)

interface Edge {
  readonly from: string
  readonly to: string
}

const edges: ReadonlyArray<Edge> = files(src).flatMap((file) =>
  specifiers(readFileSync(file, "utf8")).map((spec) => ({
    from: relative(src, file),
    to: relative(src, normalize(join(dirname(file), spec)))
  }))
)

type Graph = ReadonlyMap<string, ReadonlyArray<string>>

const graphOf = (links: ReadonlyArray<Edge>, nodes: ReadonlyArray<string> = []): Graph => {
  const graph = new Map<string, Array<string>>(nodes.map((node) => [node, []]))
  for (const { from, to } of links) {
    graph.set(from, [...(graph.get(from) ?? []), to])
    if (!graph.has(to)) graph.set(to, [])
  }
  return graph
}

/** One loop through `start` inside `members`, as the path `start -> … -> start` (breadth first: a shortest one). */
const loopThrough = (graph: Graph, members: ReadonlySet<string>, start: string): ReadonlyArray<string> => {
  const cameFrom = new Map<string, string>()
  const queue = [start]
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i]!
    for (const next of graph.get(node) ?? []) {
      if (!members.has(next)) continue
      if (next === start) {
        const path = [node]
        while (path[0] !== start) path.unshift(cameFrom.get(path[0]!)!)
        return [...path, start]
      }
      if (!cameFrom.has(next)) {
        cameFrom.set(next, node)
        queue.push(next)
      }
    }
  }
  return []
}

/**
 * The cycles of a graph: each strongly connected component of more than one node, or of one
 * node that points to itself (Tarjan's algorithm), given as one loop through its first node
 * in sorted order.
 */
const cyclesOf = (graph: Graph): ReadonlyArray<ReadonlyArray<string>> => {
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: Array<string> = []
  const onStack = new Set<string>()
  const components: Array<ReadonlyArray<string>> = []
  const visit = (node: string): void => {
    index.set(node, index.size)
    low.set(node, index.get(node)!)
    stack.push(node)
    onStack.add(node)
    for (const next of graph.get(node) ?? []) {
      if (!index.has(next)) {
        visit(next)
        low.set(node, Math.min(low.get(node)!, low.get(next)!))
      } else if (onStack.has(next)) {
        low.set(node, Math.min(low.get(node)!, index.get(next)!))
      }
    }
    if (low.get(node) !== index.get(node)) return
    const component: Array<string> = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== node)
    if (component.length > 1 || (graph.get(node) ?? []).includes(node)) components.push(component.sort())
  }
  for (const node of [...graph.keys()].sort()) if (!index.has(node)) visit(node)
  return components
    .map((component) => loopThrough(graph, new Set(component), component[0]!))
    .sort((a, b) => a[0]!.localeCompare(b[0]!))
}

/** The files of `src/`, each a node of the file graph (also those that import nothing). */
const fileGraph = graphOf(edges, files(src).map((file) => relative(src, file)))

const show = (loops: ReadonlyArray<ReadonlyArray<string>>) => loops.map((loop) => loop.join(" -> "))

describe("the import graph of src/", () => {
  it("is read: every part has a rank and imports were found", () => {
    expect(edges.length).toBeGreaterThan(100)
    const unknown = [...new Set(files(src).map(partOf))].filter((part) => !(part in rank))
    expect(unknown, "a new part of src/ needs a rank in this test").toEqual([])
  })

  it("points down: no module imports a part above its own", () => {
    const upward = edges
      .filter((edge) => partOf(join(src, edge.to)) !== partOf(join(src, edge.from)))
      .filter((edge) => rank[partOf(join(src, edge.to))]! > rank[partOf(join(src, edge.from))]!)
      .map((edge) => `${edge.from} -> ${edge.to}`)
    expect(upward).toEqual([])
  })

  it("keeps parts of one rank apart where the design says so", () => {
    const forbidden: ReadonlyArray<readonly [string, string]> = [
      ["telegram", "runtime"],
      ["llm", "dialog"],
      ["llm", "telegram"],
      ["telegram", "llm"],
      ["store", "profile"],
      ["profile", "store"],
      ["testing", "cli"],
      ["index", "cli"]
    ]
    const crossing = edges
      .filter((edge) => forbidden.some(([from, to]) => partOf(join(src, edge.from)) === from && partOf(join(src, edge.to)) === to))
      .map((edge) => `${edge.from} -> ${edge.to}`)
    expect(crossing).toEqual([])
  })

  it("has no cycle between files, type-only imports included", () => {
    expect(show(cyclesOf(fileGraph))).toEqual([])
  })

  it("has no cycle between parts", () => {
    const parts = edges
      .map((edge) => ({ from: partOf(join(src, edge.from)), to: partOf(join(src, edge.to)) }))
      .filter((edge) => edge.from !== edge.to)
    expect(show(cyclesOf(graphOf(parts)))).toEqual([])
  })

  it("would catch an upward import (the check itself is sound)", () => {
    expect(
      specifiers(
        `import { Dispatcher } from "../runtime/Dispatcher.ts"\nexport { x } from "./y.ts"\nconst m = import("../cli/z.ts")\n` +
          `import type { T } from "./t.ts"\nimport {\n  a,\n  type B\n} from "./ab.ts"\nexport type { C } from "./c.ts"\nimport "./side.ts"`
      )
    ).toEqual(["../runtime/Dispatcher.ts", "./y.ts", "../cli/z.ts", "./t.ts", "./ab.ts", "./c.ts", "./side.ts"])
    expect(rank[partOf(join(src, "runtime/Dispatcher.ts"))]!).toBeGreaterThan(rank[partOf(join(src, "telegram/Poller.ts"))]!)
  })
})

describe("cyclesOf, the cycle detector", () => {
  const graph = (links: Record<string, ReadonlyArray<string>>): Graph => new Map(Object.entries(links))

  it("finds a loop of files, one of two, and a file that imports itself; not what only leads into them", () => {
    expect(show(cyclesOf(graph({
      "telegram/TelegramApi.ts": ["telegram/BotApiMethods.ts", "domain/Update.ts"],
      "telegram/BotApiMethods.ts": ["telegram/TelegramApi.ts"],
      "a.ts": ["b.ts"],
      "b.ts": ["c.ts", "d.ts"],
      "c.ts": ["a.ts"],
      "d.ts": [],
      "e.ts": ["a.ts", "e.ts"],
      "domain/Update.ts": []
    })))).toEqual([
      "a.ts -> b.ts -> c.ts -> a.ts",
      "e.ts -> e.ts",
      "telegram/BotApiMethods.ts -> telegram/TelegramApi.ts -> telegram/BotApiMethods.ts"
    ])
  })

  it("gives the shortest loop of a tangle, and nothing for a graph that only points one way", () => {
    expect(show(cyclesOf(graph({ a: ["b", "c"], b: ["c"], c: ["a", "b"] })))).toEqual(["a -> c -> a"])
    expect(cyclesOf(graph({ a: ["b", "c"], b: ["c"], c: [], d: ["a"] }))).toEqual([])
  })

  it("is given the graph of src/ whole: every file a node, every import an edge to a file", () => {
    const sources = files(src).map((file) => relative(src, file))
    expect([...fileGraph.keys()].sort()).toEqual(sources.sort())
    expect([...fileGraph.values()].reduce((sum, targets) => sum + targets.length, 0)).toBe(edges.length)
    expect(edges.filter((edge) => !sources.includes(edge.to)).map((edge) => `${edge.from} -> ${edge.to}`)).toEqual([])
  })
})
