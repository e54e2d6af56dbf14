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

  it("would catch an upward import (the check itself is sound)", () => {
    expect(specifiers(`import { Dispatcher } from "../runtime/Dispatcher.ts"\nexport { x } from "./y.ts"\nconst m = import("../cli/z.ts")`))
      .toEqual(["../runtime/Dispatcher.ts", "./y.ts", "../cli/z.ts"])
    expect(rank[partOf(join(src, "runtime/Dispatcher.ts"))]!).toBeGreaterThan(rank[partOf(join(src, "telegram/Poller.ts"))]!)
  })
})
