import { FileSystem, Path } from "@effect/platform"
import { NodeContext } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, type Scope } from "effect"
import { settingsReference } from "../../src/config.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"
import { exitCode, root, runBin, start } from "../support/BotProcess.ts"
import { stackFrames, takenPort } from "./processes.ts"

const reference = `Every setting is described in ${settingsReference}.`
/** A Bot API nobody answers at. */
const unreachable = "http://127.0.0.1:1"
const token = "123456:ABC-processErrors"

/** Runs the bin; checks the exit code, that nothing looks like a stack trace, and returns stderr. */
const failing = (args: ReadonlyArray<string>, env: Record<string, string>, code: number) =>
  Effect.gen(function*() {
    const result = yield* runBin(args, { STORE: "memory", ...env })
    expect(stackFrames(result.stderr + result.stdout)).toEqual([])
    expect(result.code).toBe(code)
    return result.stderr
  })

const live = (name: string, test: () => Effect.Effect<void, unknown, FileSystem.FileSystem | Path.Path | Scope.Scope>) =>
  it.scopedLive(name, () => Effect.provide(test(), NodeContext.layer), 60_000)

describe("startup failures: one clear message and an exit code", () => {
  live("a required setting missing: the variable, an example, where settings are described; exit 2", () =>
    Effect.gen(function*() {
      expect(yield* failing(["migrate"], { STORE: "ydb" }, 2)).toBe(
        "YDB_CONNECTION_STRING is not set (needed with STORE=ydb, e.g. grpc://localhost:2136/local): set it in the environment\n" +
          `${reference}\n`
      )
    }))

  live("a malformed token and a port that is not a number: the variable and what is wrong; exit 2", () =>
    Effect.gen(function*() {
      expect(yield* failing(["poll"], { TELEGRAM_BOT_TOKEN: "123/abc" }, 2)).toBe(
        `TELEGRAM_BOT_TOKEN must look like 123456:ABC-… (no spaces or slashes)\n${reference}\n`
      )
      expect(yield* failing(["serve"], { TELEGRAM_BOT_TOKEN: token, PORT: "abc" }, 2)).toBe(
        `PORT is invalid: expected an integer value but received "abc"\n${reference}\n`
      )
    }))

  live("STORE=bogus is refused by replay and by the demo, with the allowed values; exit 2", () =>
    Effect.gen(function*() {
      const expected = `STORE is invalid: expected one of (memory, sqlite, postgres, ydb) but received "bogus"\n${reference}\n`
      expect(yield* failing(["replay", "examples/conversation.jsonl"], { STORE: "bogus" }, 2)).toBe(expected)
      expect(yield* failing([], { STORE: "bogus" }, 2)).toBe(expected)
    }))

  live("serve without WEBHOOK_SECRET says so before any banner or Bot API call; exit 2", () =>
    Effect.gen(function*() {
      expect(yield* failing(["serve"], { TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_BASE_URL: unreachable }, 2)).toBe(
        "WEBHOOK_SECRET is not set: anyone who finds the URL could post updates. Set WEBHOOK_SECRET " +
          "(1-256 characters A-Z a-z 0-9 _ -; `webhook set` registers it with Telegram), or WEBHOOK_ALLOW_NO_SECRET=true for local testing only.\n"
      )
    }))

  live("webhook set without WEBHOOK_URL: one line; exit 2", () =>
    Effect.gen(function*() {
      expect(yield* failing(["webhook", "set"], { TELEGRAM_BOT_TOKEN: token, TELEGRAM_API_BASE_URL: unreachable }, 2)).toBe(
        "WEBHOOK_URL is not set: the public https URL Telegram should post updates to (ending in WEBHOOK_PATH).\n"
      )
    }))

  live("a profile file missing or invalid: the file, and the fields at fault; exit 2", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const missing = path.join(dir, "missing.json")
      expect(yield* failing(["chat"], { BOT_PROFILE: missing }, 2)).toBe(
        `${missing}: profile file not found: set BOT_PROFILE to a profile file that exists (see profiles/ for examples)\n`
      )
      const invalid = path.join(dir, "profile.json")
      yield* fs.writeFileString(invalid, JSON.stringify({ name: 5 }))
      expect(yield* failing(["chat"], { BOT_PROFILE: invalid }, 2)).toBe(
        `${invalid}: invalid profile: name: Expected string, actual 5; language: is missing; timeZone: is missing (and 7 more)\n`
      )
    }))

  live("replay of a missing file reports it once; exit 2", () =>
    Effect.gen(function*() {
      const result = yield* runBin(["replay", "/nonexistent/updates.jsonl"], { STORE: "memory" })
      expect(result.code).toBe(2)
      const output = result.stdout + result.stderr
      expect(output.split("Path '/nonexistent/updates.jsonl' must exist").length - 1).toBe(1)
      expect(stackFrames(output)).toEqual([])
    }))

  live("replay summarises the lines that are not updates: the path and what was expected", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const path = yield* Path.Path
      const dir = yield* fs.makeTempDirectoryScoped()
      const file = path.join(dir, "bad.jsonl")
      yield* fs.writeFileString(
        file,
        `{"update_id":"x"}\n{"update_id":2,"message":{"message_id":1,"date":1,"chat":{"id":"z","type":"private"},"text":"hi"}}\n`
      )
      const stderr = yield* failing(["replay", file], {}, 0)
      expect(stderr).toContain(`${file}:1: skipped, not an update: update_id: expected a number\n`)
      expect(stderr).toContain(`${file}:2: skipped, not an update: message.chat.id: expected a number\n`)
    }))

  live("a busy PORT and a busy METRICS_PORT: the variable and the port; exit 1", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const port = yield* takenPort
      const env = { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url, WEBHOOK_SECRET: "s3cret", HOST: "127.0.0.1" }
      // Before any banner or "stopped" line: the one line is all.
      expect(yield* failing(["serve"], { ...env, PORT: String(port) }, 1)).toBe(
        `PORT ${port} is in use: stop the other process on that port or set PORT to a free port.\n`
      )
      expect(yield* failing(["serve"], { ...env, PORT: "0", METRICS_HOST: "127.0.0.1", METRICS_PORT: String(port) }, 1)).toBe(
        `METRICS_PORT ${port} is in use: stop the other process on that port or set METRICS_PORT to a free port.\n`
      )
    }))

  live("a token Telegram refuses: one line naming TELEGRAM_BOT_TOKEN; exit 1", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      yield* fake.script("getMe", { error: 401, description: "Unauthorized" })
      const stderr = yield* failing(["poll"], { TELEGRAM_BOT_TOKEN: fake.token, TELEGRAM_API_BASE_URL: fake.url }, 1)
      expect(stderr.trimEnd().split("\n").at(-1)).toBe(
        "Telegram refuses TELEGRAM_BOT_TOKEN (getMe: 401 Unauthorized): check the token from @BotFather."
      )
    }))

  live("a store that cannot open: what failed and where to look; exit 1", () =>
    Effect.gen(function*() {
      // The directory of the database cannot be created: its parent is a file.
      expect(yield* failing(["migrate"], { STORE: "sqlite", SQLITE_PATH: "package.json/bot.sqlite" }, 1)).toMatch(
        /^store: open: SQLite database package\.json\/bot\.sqlite: cannot create the directory of package\.json\/bot\.sqlite: .*\n/
      )
    }))

  live("LOG_FORMAT=json: the report of a bad setting is one JSON line on stderr, the whole message in it; exit 2", () =>
    Effect.gen(function*() {
      const stderr = yield* failing(["serve"], { TELEGRAM_BOT_TOKEN: token, PORT: "abc", LOG_FORMAT: "json" }, 2)
      const lines = stderr.trimEnd().split("\n")
      expect(lines).toHaveLength(1)
      const line: unknown = JSON.parse(lines[0]!)
      expect(line).toEqual({
        message: `PORT is invalid: expected an integer value but received "abc"\n${reference}`,
        logLevel: "ERROR",
        timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/)
      })
    }))

  live("LOG_LEVEL=debug adds the whole cause with its stack before the message", () =>
    Effect.gen(function*() {
      const result = yield* runBin(["webhook", "set"], { TELEGRAM_BOT_TOKEN: token, LOG_LEVEL: "debug" })
      expect(result.code).toBe(2)
      expect(stackFrames(result.stderr).length).toBeGreaterThan(0)
      expect(result.stderr.trimEnd().split("\n").at(-1)).toBe(
        "WEBHOOK_URL is not set: the public https URL Telegram should post updates to (ending in WEBHOOK_PATH)."
      )
    }))
})

describe("the same failure, the same report, in every command", () => {
  live("a broken profile exits 2 with one line in replay and chat", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const profile = `${dir}/profile.json`
      yield* fs.writeFileString(profile, "{\"name\":\"Shop\"}")
      const line = `${profile}: invalid profile: language: is missing; timeZone: is missing; persona: is missing (and 6 more)\n`
      for (const args of [["replay", "examples/conversation.jsonl"], ["chat"]]) {
        expect(yield* failing(args, { BOT_PROFILE: profile }, 2)).toBe(line)
      }
    }))

  live("STORE=postgres without DATABASE_URL: the variable with an example; exit 2", () =>
    Effect.gen(function*() {
      expect(yield* failing(["migrate"], { STORE: "postgres" }, 2)).toBe(
        "DATABASE_URL is not set (needed with STORE=postgres, e.g. postgres://user@host:5432/db): set it in the environment\n" +
          `${reference}\n`
      )
    }))

  live("a team's bot sends its people to its own help, not to this project's pages", () =>
    Effect.gen(function*() {
      const team = yield* start(process.execPath, ["--import", "tsx", `${root}examples/order-status/main.ts`, "chat"], {
        STORE: "postgres"
      })
      expect(yield* exitCode(team.child)).toBe(2)
      expect(team.stderr()).toBe(
        "DATABASE_URL is not set (needed with STORE=postgres, e.g. postgres://user@host:5432/db): set it in the environment\n" +
          "Every setting is described in `npx tsx examples/order-status/main.ts --help`.\n"
      )
    }))

  live("a broken --expect file: one line per problem; exit 1", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const expected = `${dir}/expected.jsonl`
      yield* fs.writeFileString(expected, [
        "{\"update_id\":700000001,\"chat_id\":523746101,\"text\":\"Hi\"}",
        "{\"update_id\":700000002,\"text\":\"Hi\"}",
        "{\"update_id\":\"x\",\"chat_id\":1.5,\"text\":\"Hi\"}"
      ].join("\n"))
      const stderr = yield* failing(["replay", "examples/conversation.jsonl", "--expect", expected], {}, 1)
      expect(stderr.split("\n").filter((line) => line.startsWith("replay --expect:"))).toEqual([
        `replay --expect: ${expected}:2: not a transcript line {"update_id","chat_id","text"}: chat_id: is missing`,
        `replay --expect: ${expected}:3: not a transcript line {"update_id","chat_id","text"}: ` +
        "update_id: Expected number, actual \"x\"; chat_id: Expected an integer, actual 1.5"
      ])
    }))

  live("the --expect diff marks what changed within a reply", () =>
    Effect.gen(function*() {
      const fs = yield* FileSystem.FileSystem
      const dir = yield* fs.makeTempDirectoryScoped()
      const out = `${dir}/out.jsonl`
      // Both runs on one fixed clock: the clock's answers (get_current_time) do not differ when
      // the second run starts in another minute.
      const clock = { REPLAY_CLOCK: "2026-12-07T12:00:00Z" }
      expect((yield* runBin(["replay", "examples/conversation.jsonl", "--out", out], { STORE: "memory", ...clock })).code).toBe(0)
      const stored = (yield* fs.readFileString(out)).replace(
        "Standard delivery within Germany takes 2–3 working days",
        "Standard delivery within Germany takes 1–2 working days"
      )
      yield* fs.writeFileString(out, stored)
      const stderr = yield* failing(["replay", "examples/conversation.jsonl", "--expect", out], clock, 1)
      expect(stderr).toContain("1 update differs from the expected transcript (exact):")
      expect(stderr).toContain("Standard delivery within Germany takes [-1–2-] working days and costs 4.90 EUR")
      expect(stderr).toContain("Standard delivery within Germany takes {+2–3+} working days and costs 4.90 EUR")
    }))
})
