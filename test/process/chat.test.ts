/**
 * `chat` and `--help` as a person reads them in a terminal: the conversation without log lines
 * between the replies, a failure as one line, a fresh prompt for an empty line, and a help
 * without colour codes in a pipe and within 100 columns.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { bin, exitCode, freePort, runBin, start, startBot } from "../support/BotProcess.ts"

describe("chat", () => {
  it.scopedLive("an unreachable model endpoint is one line on stderr, then the apology", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const bot = yield* startBot(["chat"], {
        OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
        OPENAI_API_KEY: "sk-test",
        STORE: "memory",
        // The retries as configured, with short backoffs: the test waits on them in real time.
        LLM_BACKOFF_BASE: "20 millis"
      }, { input: "hello there\nand again\n" })
      expect(yield* exitCode(bot.child)).toBe(0)
      const refused = `connection failed: fetch failed: connect ECONNREFUSED 127.0.0.1:${port} (ECONNREFUSED)`
      // One line per message: the reason once, with where the detail is the first time.
      expect(bot.stderr()).toBe([
        `model: openai-compatible gpt-4o-mini at http://127.0.0.1:${port}/v1`,
        `⚠ ${refused} (LOG_LEVEL=debug for every log line)`,
        `⚠ ${refused}`,
        ""
      ].join("\n"))
      const apology = "🤖 Sorry, something went wrong on our side and I can't answer right now. Please try again in a minute."
      expect(bot.stdout()).toBe([
        "Chatting as You (user id 100000001). /help lists commands; Ctrl-D or /quit ends.",
        "",
        apology,
        "",
        "",
        apology,
        "",
        ""
      ].join("\n"))
    }), 120_000)

  it.scopedLive("with LOG_LEVEL=debug every log line is written", () =>
    Effect.gen(function*() {
      const port = yield* freePort
      const bot = yield* startBot(["chat"], {
        OPENAI_BASE_URL: `http://127.0.0.1:${port}/v1`,
        OPENAI_API_KEY: "sk-test",
        STORE: "memory",
        LOG_LEVEL: "debug",
        LLM_BACKOFF_BASE: "20 millis"
      }, { input: "hello there\n" })
      expect(yield* exitCode(bot.child)).toBe(0)
      expect(bot.stderr()).toContain("model call failed, retrying: connection failed")
      expect(bot.stderr()).toContain("purpose: classify")
    }), 120_000)

  it.scopedLive("an empty line in a terminal gets a fresh prompt", () =>
    Effect.gen(function*() {
      // `script` gives the chat a terminal (a pseudo-terminal): prompts are written only to one.
      const chat = yield* start("script", ["-qfec", `${process.execPath} ${bin} chat`, "/dev/null"], { STORE: "memory" }, {
        input: "\n\n/quit\n"
      })
      expect(yield* exitCode(chat.child)).toBe(0)
      const afterBanner = chat.stdout().split("Ctrl-D or /quit ends.")[1] ?? ""
      // The first prompt, then one for each empty line; /quit ends.
      expect(afterBanner.replace(/\r/g, "")).toBe("\nyou> you> you> ")
    }), 60_000)
})

describe("--help", () => {
  it.effect("in a pipe has no colour codes, and every line fits 100 columns", () =>
    Effect.gen(function*() {
      for (const command of [[], ["chat"], ["replay"], ["serve"], ["webhook", "set"], ["usage", "report"]]) {
        const help = yield* runBin([...command, "--help"])
        expect(help.code).toBe(0)
        expect(help.stdout).toContain(`$ dialog-bot ${command.join(" ")}`.trimEnd())
        expect(help.stdout).not.toContain("\x1b[")
        expect(help.stdout.split("\n").filter((line) => line.length > 100)).toEqual([])
      }
    }), 120_000)
})
