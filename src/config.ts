/**
 * How settings are defined. Each module owns its settings (`DialogConfig` next to the
 * pipeline, `SendConfig` next to the Telegram code, …) as a `Settings` tag: one `Config`
 * holds every variable with its default, `fromEnv` reads it from the environment, and
 * `make(overrides)` (tests, embedding) starts from the same defaults, so a default is written
 * once. The small readers below (durations, bounded integers) are shared by all of them.
 */
import { Config, type ConfigError, ConfigProvider, Context, Duration, Effect, Layer } from "effect"

/** A duration setting (`"5 seconds"`, `"500 millis"`) with its default. */
export const duration = (name: string, fallback: Duration.DurationInput): Config.Config<Duration.Duration> =>
  Config.duration(name).pipe(Config.withDefault(Duration.decode(fallback)))

/** An integer setting of at least 1. */
export const positiveInt = (name: string, fallback: number): Config.Config<number> =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 })
  )

/** An integer setting from `min` to `max`. */
export const integerIn = (name: string, fallback: number, min: number, max: number): Config.Config<number> =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({
      message: `${name} must be an integer from ${min} to ${max}`,
      validation: (n) => n >= min && n <= max
    })
  )

/** An integer setting of 0 or more, where 0 means "off". */
export const nonNegativeInt = (name: string, fallback: number): Config.Config<number> =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be 0 (off) or more`, validation: (n) => n >= 0 })
  )

/**
 * The value of `config` with nothing set but `given` (variable name → text): its defaults.
 * A required variable missing from `given` is a defect: defaults are the program's own.
 */
export const defaultsOf = <A>(config: Config.Config<A>, given: Record<string, string> = {}): Effect.Effect<A> =>
  Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(given)))).pipe(Effect.orDie)

/**
 * A settings service: `class XConfig extends Settings<XConfig>()("dialog-bot/XConfig", XConfigSchema) {}`.
 * `fromEnv` reads the environment; `make(overrides)` is the defaults with `overrides` on top.
 */
export const Settings = <Self>() => <const Id extends string, A extends object>(
  id: Id,
  config: Config.Config<A>,
  /** Values of required variables (which have no default) used only to read the defaults. */
  placeholders: Record<string, string> = {}
) => {
  const Tag = Context.Tag(id)<Self, A>()
  return class extends Tag {
    /** Every variable of this service, with its default and validation. */
    static readonly config: Config.Config<A> = config
    /** Read from the environment (the process's `ConfigProvider`). */
    static readonly fromEnv: Layer.Layer<Self, ConfigError.ConfigError> = Layer.effect(Tag, config)
    /** The defaults with `overrides` on top (tests, embedding). */
    static readonly make = (overrides: Partial<A> = {}): Layer.Layer<Self> =>
      Layer.effect(Tag, Effect.map(defaultsOf(config, placeholders), (defaults): A => ({ ...defaults, ...overrides })))
  }
}
