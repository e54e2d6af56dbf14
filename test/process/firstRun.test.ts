/**
 * The README's first command, as a newcomer runs it: `npm start` with nothing configured (no
 * token, no key, no server) replays the bundled conversation through the whole bot on the
 * offline model and prints the transcript — and nothing a newcomer would take for a problem
 * (no warning, no error), then exits 0.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { exitCode, start } from "../support/BotProcess.ts"

describe("npm start on a fresh clone", () => {
  it.scopedLive("replays the bundled conversation offline: the transcript, no warning or error, exit 0", () =>
    Effect.gen(function*() {
      const started = yield* start("npm", ["start", "--silent"])
      const code = yield* exitCode(started.child)
      const output = started.output()
      expect(code, output).toBe(0)
      expect(started.stderr()).toContain("model: offline (built-in rules, no network)")
      expect(started.stdout()).toContain("── chat 523746101 ──")
      // The summary and what to do next go to stderr, beside the transcript.
      expect(started.stderr()).toMatch(/^replayed 12 updates, 12 bot messages$/m)
      expect(started.stderr()).toContain("To run the bot for real:")
      // Every answer of the recording came out as text, none as an apology.
      expect(started.stdout().match(/^🤖 /gm)?.length).toBe(12)
      expect(output).not.toMatch(/\b(WARN|ERROR|FATAL)\b/)
    }), 60_000)
})
