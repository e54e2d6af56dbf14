/**
 * The starter (examples/starter/) as a team gets it: the project packed with `npm pack` (the
 * build the test run made, reused), the starter copied to a folder of its own, the tarball and
 * the starter's dependencies installed from the npm cache `npm ci` filled (nothing else may be
 * assumed), then its own `npm start -- replay … --expect …` (which compiles it with `tsc`): the
 * custom tool is called and its result reaches the answer. Then the starter's own tests on the
 * package's testing kit.
 *
 * An install of the package's ~400 dependencies from the cache takes about a minute on an idle
 * machine, several on two shared cores: the timeout is a bound for a loaded machine, not a
 * duration the test asserts.
 */
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exitCode, root, start } from "../support/BotProcess.ts"

const starter = join(root, "examples/starter")

/** Runs `command args` in `cwd` to its end (its group killed if the test ends first). */
const run = (cwd: string, command: string, args: ReadonlyArray<string>) =>
  Effect.scoped(Effect.gen(function*() {
    const started = yield* start(command, args, {}, { cwd })
    const code = yield* exitCode(started.child)
    return { code, stdout: started.stdout(), stderr: started.stderr() }
  }))

/** A folder of its own for the scope. */
const tempFolder = (prefix: string) =>
  Effect.acquireRelease(
    Effect.sync(() => mkdtempSync(join(tmpdir(), prefix))),
    (path) => Effect.sync(() => rmSync(path, { recursive: true, force: true }))
  )

describe("examples/starter, installed from the packed project", () => {
  it.scopedLive("installs, compiles, replays its conversation with its own tool, and passes its own tests", () =>
    Effect.gen(function*() {
      const packed = yield* tempFolder("dialog-bot-pack-")
      // The build is the test run's (vitest's global setup): packing does not build again.
      const pack = yield* run(root, "npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", packed])
      expect(pack.code, pack.stderr).toBe(0)
      const [tarball] = readdirSync(packed)
      expect(tarball).toMatch(/^effect-telegram-dialog-bot-.*\.tgz$/)

      const project = yield* tempFolder("dialog-bot-starter-")
      cpSync(starter, project, {
        recursive: true,
        filter: (source) => !/[/\\](node_modules|dist)([/\\]|$)/.test(source.slice(starter.length))
      })
      const install = yield* run(project, "npm", [
        "install", "--prefer-offline", "--no-audit", "--no-fund", join(packed, tarball!)
      ])
      expect(install.code, install.stderr).toBe(0)

      const replay = yield* run(project, "npm", [
        "start", "--silent", "--", "replay", "conversation.jsonl", "--expect", "expected.jsonl"
      ])
      expect(replay.code, replay.stderr).toBe(0)
      expect(replay.stdout).toContain("👤 Mia: Where is my order LL-1001?\n🤖 Order status: order number LL-1001, status shipped, arrives 2026-01-20.")
      expect(replay.stdout).toContain("👤 Mia: /order LL-1002\n🤖 Order LL-1002: processing.")
      expect(replay.stderr).toContain("replies match expected.jsonl (exact)")
      // The custom tool's result is in the stored transcript the replay was checked against.
      expect(readFileSync(join(project, "expected.jsonl"), "utf8")).toContain("order number LL-1001, status shipped")

      const tests = yield* run(project, "npm", ["test", "--silent"])
      expect(tests.code, tests.stdout + tests.stderr).toBe(0)
      expect(tests.stdout).toMatch(/Tests\s+4 passed \(4\)/)
    }), 900_000)
})
