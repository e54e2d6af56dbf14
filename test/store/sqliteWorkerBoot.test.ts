/**
 * Which program the SQLite worker's entry (`src/store/sqlite/worker/boot.mjs`) starts: the one
 * beside it in a build (`thread.js`); from the sources, the build's bundled worker while it is
 * newer than the worker's sources, else the sources through tsx (an edited `thread.ts` runs at
 * once, without a build). Run on a copy of the layout (`src/…/worker/`, `dist/bundle/worker/`)
 * whose programs only say who they are, inside the repository so that tsx resolves.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, utimesSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { Worker } from "node:worker_threads"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { root } from "../support/BotProcess.ts"

const boot = join(root, "src", "store", "sqlite", "worker", "boot.mjs")
const says = (who: string) => `import { parentPort } from "node:worker_threads"\nparentPort.postMessage(${JSON.stringify(who)})\n`

/** The layout in a fresh folder under node_modules/.cache, removed with the scope. */
const layout = Effect.acquireRelease(
  Effect.sync(() => {
    const cache = join(root, "node_modules", ".cache")
    mkdirSync(cache, { recursive: true })
    const dir = mkdtempSync(join(cache, "sqlite-worker-boot-"))
    const sources = join(dir, "src", "store", "sqlite", "worker")
    const built = join(dir, "dist", "bundle", "worker")
    mkdirSync(sources, { recursive: true })
    mkdirSync(built, { recursive: true })
    copyFileSync(boot, join(sources, "boot.mjs"))
    writeFileSync(join(sources, "thread.ts"), says("sources"))
    writeFileSync(join(sources, "protocol.ts"), "export const protocol: number = 1\n")
    writeFileSync(join(built, "thread.js"), says("build"))
    return { dir, sources, built }
  }),
  ({ dir }) => Effect.sync(() => rmSync(dir, { recursive: true, force: true }))
)

/** What the worker started from `entry` says first. */
const started = (entry: string) =>
  Effect.async<string, Error>((resume) => {
    const worker = new Worker(entry)
    worker.once("message", (who: string) => {
      void worker.terminate()
      resume(Effect.succeed(who))
    })
    worker.once("error", (e) => resume(Effect.fail(e)))
  })

/** Sets a file's modification time, in seconds since the epoch. */
const touch = (path: string, seconds: number) => utimesSync(path, seconds, seconds)

describe("the SQLite worker's entry", () => {
  it.scopedLive("from the sources: the build's worker while it is newer than thread.ts and protocol.ts, else the sources through tsx", () =>
    Effect.gen(function*() {
      const { sources, built } = yield* layout
      const entry = join(sources, "boot.mjs")
      touch(join(sources, "thread.ts"), 1_000)
      touch(join(sources, "protocol.ts"), 1_000)
      touch(join(built, "thread.js"), 2_000)
      expect(yield* started(entry)).toBe("build")
      // thread.ts edited after the build.
      touch(join(sources, "thread.ts"), 3_000)
      expect(yield* started(entry)).toBe("sources")
      // protocol.ts edited after the build.
      touch(join(sources, "thread.ts"), 1_000)
      touch(join(sources, "protocol.ts"), 3_000)
      expect(yield* started(entry)).toBe("sources")
      // No build.
      rmSync(join(built, "thread.js"))
      expect(yield* started(entry)).toBe("sources")
    }), 60_000)

  it.scopedLive("in a build: the program beside it", () =>
    Effect.gen(function*() {
      const { built } = yield* layout
      copyFileSync(boot, join(built, "boot.mjs"))
      expect(yield* started(join(built, "boot.mjs"))).toBe("build")
    }), 60_000)
})
