import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigError, Option } from "effect"
import { describeCause, describeError } from "../../src/cli/Failure.ts"
import { completeHelp, describeCommand } from "../../src/cli/help.ts"
import { configErrorLines, formatConfigError, settingsReference } from "../../src/config.ts"
import { asPortInUse, ConfigurationError, StoreError } from "../../src/domain/errors.ts"

const reference = `Every setting is described in ${settingsReference}.`

describe("the error report of the command line", () => {
  it("a configuration error names the variable and what is wrong; exit code 2", () => {
    expect(formatConfigError(ConfigError.MissingData(["YDB_CONNECTION_STRING"], "Expected YDB_CONNECTION_STRING to exist"))).toBe(
      `YDB_CONNECTION_STRING is not set (needed with STORE=ydb, e.g. grpc://localhost:2136/local): set it in the environment\n${reference}`
    )
    expect(configErrorLines(ConfigError.InvalidData(["PORT"], "Expected an integer value but received abc"))).toEqual([
      "PORT is invalid: expected an integer value but received abc"
    ])
    // A validation message names its variable itself; its path is empty.
    expect(configErrorLines(ConfigError.InvalidData([], "TELEGRAM_BOT_TOKEN must look like 123456:ABC-…"))).toEqual([
      "TELEGRAM_BOT_TOKEN must look like 123456:ABC-…"
    ])
    const several = ConfigError.And(
      ConfigError.MissingData(["A"], ""),
      ConfigError.And(ConfigError.MissingData(["B"], ""), ConfigError.And(ConfigError.MissingData(["C"], ""), ConfigError.MissingData(["D"], "")))
    )
    expect(formatConfigError(several)).toBe(
      `A is not set: set it in the environment\nB is not set: set it in the environment\nC is not set: set it in the environment (and 1 more)\n${reference}`
    )
    expect(describeError(ConfigError.MissingData(["X"], "")).exitCode).toBe(2)
  })

  it("profile, store, port and unknown errors: one line each, with their exit code", () => {
    expect(describeError(new ConfigurationError({ source: "/p.json", message: "invalid profile:\n  a: x\n  b: y" }))).toEqual({
      exitCode: 2,
      message: Option.some("/p.json: invalid profile: a: x; b: y")
    })
    expect(describeError(new StoreError({ operation: "open", message: "disk full" }))).toEqual({
      exitCode: 1,
      message: Option.some(`store: open: disk full\nCheck STORE and its settings; every setting is described in ${settingsReference}.`)
    })
    // The platform's ServeError carries the listen error as its cause.
    const serveError = { _tag: "ServeError", message: "An error has occurred", cause: { code: "EADDRINUSE", port: 8080 } }
    expect(describeError(serveError)).toEqual({
      exitCode: 1,
      message: Option.some("PORT 8080 is in use: stop the other process on that port or set PORT to a free port.")
    })
    expect(asPortInUse("METRICS_PORT", 9464)({ cause: { code: "EADDRINUSE" } })).toMatchObject({ setting: "METRICS_PORT", port: 9464 })
    expect(asPortInUse("PORT", 1)({ code: "EACCES" })).toEqual({ code: "EACCES" })
    expect(describeCause(Cause.die(new Error("boom")))).toEqual({ exitCode: 1, message: Option.some("unexpected error: boom") })
  })
})

describe("help", () => {
  it("usage lines name the whole command; the generic text line is dropped", () => {
    const help = "USAGE\n\n$ set\n\n--clock instant\n\n  A user-defined piece of text.\n\n  fix the clock\n"
    expect(completeHelp(help, "dialog-bot", ["webhook", "set"])).toBe("USAGE\n\n$ dialog-bot webhook set\n\n--clock instant\n\n  fix the clock\n")
    expect(completeHelp("$ dialog-bot", "dialog-bot", [])).toBe("$ dialog-bot")
    expect(describeCommand("Does it.", ["A", "B"])).toBe(
      `Does it. Reads A, B; every setting is described in ${settingsReference}.`
    )
  })
})
