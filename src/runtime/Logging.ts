/**
 * Logging for the entry points: lines go to stderr (stdout is for transcripts and chat),
 * pretty or JSON by `LOG_FORMAT`, filtered by `LOG_LEVEL`.
 */
import { Config, Effect, Layer, Logger, LogLevel } from "effect"

const levels = {
  all: LogLevel.All,
  trace: LogLevel.Trace,
  debug: LogLevel.Debug,
  info: LogLevel.Info,
  warning: LogLevel.Warning,
  warn: LogLevel.Warning,
  error: LogLevel.Error,
  fatal: LogLevel.Fatal,
  none: LogLevel.None
} as const

export const LoggingConfig = Config.all({
  level: Config.literal(...(Object.keys(levels) as Array<keyof typeof levels>))("LOG_LEVEL").pipe(Config.option),
  format: Config.literal("pretty", "json")("LOG_FORMAT").pipe(Config.withDefault("pretty" as const))
})

const jsonToStderr = Logger.map(Logger.jsonLogger, (line) => {
  process.stderr.write(`${line}\n`)
})

/** The logger of an entry point; `defaultLevel` applies when `LOG_LEVEL` is not set. */
export const loggingLayer = (defaultLevel: LogLevel.LogLevel) =>
  Layer.unwrapEffect(
    Effect.map(Effect.orDie(LoggingConfig), ({ format, level }) =>
      Layer.merge(
        Logger.replace(
          Logger.defaultLogger,
          format === "json" ? jsonToStderr : Logger.prettyLogger({ stderr: true, colors: "auto" })
        ),
        Logger.minimumLogLevel(level._tag === "Some" ? levels[level.value] : defaultLevel)
      ))
  )
