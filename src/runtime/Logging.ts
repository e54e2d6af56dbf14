/**
 * Logging for the entry points: lines go to stderr (stdout is for transcripts and chat),
 * pretty or JSON by `LOG_FORMAT`, filtered by `LOG_LEVEL`.
 *
 * A JSON line is effect's structured log (`message`, `logLevel`, `timestamp`, `annotations`,
 * `spans`, `fiberId`, `cause`) plus `trace_id` and `span_id` of the span the line was written
 * in, so a log line leads to its trace. Lines of a dialog carry the annotations `update_id`,
 * `chat_id` and, once classified, `stage`.
 */
import { Config, Context, Effect, FiberRef, FiberRefs, Inspectable, Layer, Logger, LogLevel, Option, Tracer } from "effect"
import { Settings } from "../config.ts"

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

export const LoggingConfigSchema = Config.all({
  /** The least severe level written; the command line writes warnings and worse by default. */
  level: Config.literal(...(Object.keys(levels) as Array<keyof typeof levels>))("LOG_LEVEL").pipe(
    Config.withDefault("warning" as const)
  ),
  format: Config.literal("pretty", "json")("LOG_FORMAT").pipe(Config.withDefault("pretty" as const))
})
export type LoggingConfigShape = Config.Config.Success<typeof LoggingConfigSchema>

/** `LOG_LEVEL` and `LOG_FORMAT`: read where the logger is built, and by the error report. */
export class LoggingConfig extends Settings<LoggingConfig>()("dialog-bot/LoggingConfig", LoggingConfigSchema) {}

/** Whether `LOG_LEVEL` asks for every detail: effect's stack traces and whole causes on errors. */
export const debugLevel = (config: LoggingConfigShape): boolean =>
  LogLevel.greaterThanEqual(LogLevel.Debug, levels[config.level])

export type LogFormat = "pretty" | "json"

/** The span a log line was written in, if any. */
const currentSpan = (context: FiberRefs.FiberRefs): Option.Option<Tracer.AnySpan> =>
  Context.getOption(FiberRefs.getOrDefault(context, FiberRef.currentContext), Tracer.ParentSpan)

/**
 * One JSON object per line: effect's structured log plus the trace and span ids. With tracing
 * off (no collector) spans are no-ops whose ids lead nowhere: none are written.
 */
export const jsonLogger: Logger.Logger<unknown, string> = Logger.make((options) => {
  const structured = Logger.structuredLogger.log(options)
  const span = FiberRefs.getOrDefault(options.context, FiberRef.currentTracerEnabled)
    ? Option.filter(currentSpan(options.context), (s) => s.traceId !== "noop")
    : Option.none()
  return Inspectable.stringifyCircular({
    ...structured,
    ...(Option.isSome(span) ? { trace_id: span.value.traceId, span_id: span.value.spanId } : {})
  })
})

/**
 * The logger of a format. JSON lines are written with `write` (stderr in production, a buffer
 * in tests); the pretty logger writes to stderr itself, with colors on a terminal.
 */
export const makeLogger = (format: LogFormat, write: (line: string) => void): Logger.Logger<unknown, void> =>
  format === "json"
    ? Logger.map(jsonLogger, (line) => write(`${line}\n`))
    : Logger.prettyLogger({ stderr: true, colors: "auto" })

const writeStderr = (line: string) => {
  process.stderr.write(line)
}

/** The logger of an entry point, by `LOG_LEVEL` and `LOG_FORMAT`. */
export const loggingLayer = Layer.unwrapEffect(
  Effect.map(Effect.orDie(LoggingConfigSchema), ({ format, level }) =>
    Layer.merge(
      Logger.replace(Logger.defaultLogger, makeLogger(format, writeStderr)),
      Logger.minimumLogLevel(levels[level])
    ))
)

/**
 * A line for the operator on stderr outside the logger (banners, the stop report): as it is
 * in the pretty format; with `LOG_FORMAT=json` a JSON object like the logger's lines, so that
 * every line on stderr parses.
 */
export const operatorLine = (format: LogFormat, message: string, level: "INFO" | "WARN" | "ERROR" = "INFO"): string =>
  format === "json" ? JSON.stringify({ message, logLevel: level, timestamp: new Date().toISOString() }) : message

/** The format of `LOG_FORMAT`; pretty when it cannot be read (the error report says why). */
export const logFormat: Effect.Effect<LogFormat> = Effect.map(LoggingConfigSchema, ({ format }) => format).pipe(
  Effect.orElseSucceed((): LogFormat => "pretty")
)

/** Writes an {@link operatorLine} to stderr. */
export const sayToOperator = (message: string, level: "INFO" | "WARN" | "ERROR" = "INFO"): Effect.Effect<void> =>
  Effect.flatMap(logFormat, (format) => Effect.sync(() => writeStderr(`${operatorLine(format, message, level)}\n`)))
