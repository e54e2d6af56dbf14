/**
 * How the command line ends on an error: one or two lines a person can act on, and the exit
 * code — 2 for configuration (a setting, the profile, the command line), 1 for everything
 * else (store, port, Telegram). Effect's stack traces and the full cause are printed only
 * with `LOG_LEVEL=debug` (or `trace`, `all`).
 */
import { ValidationError } from "@effect/cli"
import { Cause, ConfigError, Console, Effect, Option } from "effect"
import { formatConfigError, settingsReference } from "../config.ts"
import { asPortInUse } from "../domain/errors.ts"
import { debugLevel, logFormat, LoggingConfigSchema, operatorLine } from "../runtime/Logging.ts"

/** What a failure prints and the exit code the process ends with. */
export interface FailureReport {
  /** Printed on stderr; none when the command line already said it (usage errors). */
  readonly message: Option.Option<string>
  readonly exitCode: 1 | 2
}

const report = (exitCode: 1 | 2, message: string): FailureReport => ({ exitCode, message: Option.some(message) })

const tagOf = (error: object): string | undefined =>
  "_tag" in error && typeof error._tag === "string" ? error._tag : undefined

const messageOf = (error: object): string =>
  "message" in error && typeof error.message === "string" && error.message !== "" ? error.message : String(error)

/**
 * A profile that cannot be read or is invalid, on one line: the file, what is wrong, the
 * first few fields at fault.
 */
const profileProblem = (source: string, message: string): string => {
  if (/cannot read the profile: NotFound/.test(message)) {
    return `${source}: profile file not found: set BOT_PROFILE to a profile file that exists (see profiles/ for examples)`
  }
  const [head = "", ...items] = message.split("\n").map((line) => line.trim()).filter((line) => line !== "")
  if (items.length === 0) return `${source}: ${head}`
  const shown = items.slice(0, 3).join("; ")
  const more = items.length > 3 ? ` (and ${items.length - 3} more)` : ""
  return `${source}: ${head.replace(/:$/, "")}: ${shown}${more}`
}

/**
 * The report of one expected error (a failure in the error channel). `reference` is where a
 * person reads about the settings: this project's page, or a team's bot's own `--help`.
 */
export const describeError = (error: unknown, reference: string = settingsReference): FailureReport => {
  if (ConfigError.isConfigError(error)) return report(2, formatConfigError(error, reference))
  if (ValidationError.isValidationError(error)) return { exitCode: 2, message: Option.none() }
  if (typeof error !== "object" || error === null) return report(1, `error: ${String(error)}`)
  switch (tagOf(error)) {
    case "ConfigurationError": {
      const source = "source" in error && typeof error.source === "string" ? error.source : "configuration"
      return report(2, profileProblem(source, messageOf(error)))
    }
    case "WebhookSecretMissing":
    case "WebhookUrlMissing":
      return report(2, messageOf(error))
    case "StoreError": {
      const operation = "operation" in error && typeof error.operation === "string" ? error.operation : "store"
      return report(1, `store: ${operation}: ${messageOf(error)}\nCheck STORE and its settings; every setting is described in ${reference}.`)
    }
    case "ServeError": {
      const port = asPortInUse("PORT", 0)(error)
      return port === error ? report(1, `cannot start the server: ${messageOf(error)}`) : describeError(port, reference)
    }
    case "PortInUse":
    case "TokenRefused":
    case "PollingConflict":
    case "PollingRefused":
      return report(1, messageOf(error))
    case "BotServicesFailed":
      return report(1, `the bot's own services could not start: ${messageOf(error)}`)
    case "TelegramApiError":
    case "TelegramTransportError":
      return report(1, `Telegram: ${messageOf(error)}`)
    case undefined:
      return report(1, `error: ${messageOf(error)}`)
    default:
      return report(1, `${tagOf(error)}: ${messageOf(error)}`)
  }
}

/** The report of a whole cause: its first failure, else its first defect. */
export const describeCause = (cause: Cause.Cause<unknown>, reference: string = settingsReference): FailureReport =>
  Option.match(Cause.failureOption(cause), {
    onSome: (error) => describeError(error, reference),
    onNone: () =>
      Option.match(Cause.dieOption(cause), {
        onSome: (defect) =>
          report(1, `unexpected error: ${typeof defect === "object" && defect !== null ? messageOf(defect) : String(defect)}`),
        onNone: () => report(1, "stopped by an unexpected interruption")
      })
  })

/** Whether `LOG_LEVEL` asks for the whole cause. */
const debugRequested = Effect.map(LoggingConfigSchema, debugLevel).pipe(Effect.orElseSucceed(() => false))

/**
 * Prints the report of a failed command on stderr (the full cause too at `LOG_LEVEL=debug`)
 * and returns the exit code. An interruption alone (a signal) is a normal stop: code 0. With
 * `LOG_FORMAT=json` each printed report is one JSON line (its line breaks inside the message),
 * so that every line on stderr parses.
 */
export const reportFailure = (cause: Cause.Cause<unknown>, reference: string = settingsReference): Effect.Effect<number> =>
  Effect.gen(function*() {
    if (Cause.isInterruptedOnly(cause)) return 0
    const described = describeCause(cause, reference)
    const format = yield* logFormat
    const say = (message: string) => Console.error(operatorLine(format, message, "ERROR"))
    if (yield* debugRequested) yield* say(Cause.pretty(cause, { renderErrorCause: true }))
    if (Option.isSome(described.message)) yield* say(described.message.value)
    return described.exitCode
  })
