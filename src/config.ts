/**
 * How settings are defined. Each module owns its settings (`DialogConfig` next to the
 * pipeline, `SendConfig` next to the Telegram code, …) as a `Settings` tag: one `Config`
 * holds every variable with its default, `fromEnv` reads it from the environment, and
 * `make(overrides)` (tests, embedding) starts from the same defaults, so a default is written
 * once. The small readers below (durations, bounded integers) are shared by all of them.
 *
 * Each environment variable has exactly one owner: the one `Config` that reads it lives in
 * its owner's module, and whoever else needs the value reads it through that `Config`. The
 * command line lists the owners in one registry (src/cli/settingsRegistry.ts), which
 * `--help`, `.env.example` and the settings table are checked against.
 */
import { Config, ConfigError, ConfigProvider, ConfigProviderPathPatch, Context, Duration, Effect, HashSet, Layer } from "effect"

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
 * What owns some environment variables: a `Settings` class (or a reference with the same
 * statics). `config` reads every variable of the owner; `placeholders` are values of its
 * required variables, used only to read its defaults.
 */
export interface SettingsOwner {
  readonly key: string
  readonly config: Config.Config<unknown>
  readonly placeholders: Readonly<Record<string, string>>
}

/**
 * The names of the variables `config` reads, in the order it reads them: it is run against an
 * environment that has none of them, and every name it asks for is noted.
 */
export const variablesOf = (config: Config.Config<unknown>): Effect.Effect<ReadonlyArray<string>> =>
  Effect.suspend(() => {
    const names = new Set<string>()
    const provider = ConfigProvider.fromFlat(ConfigProvider.makeFlat({
      load: (path) => {
        names.add(path.join("_"))
        return Effect.fail(ConfigError.MissingData([...path], "not set"))
      },
      enumerateChildren: () => Effect.succeed(HashSet.empty()),
      patch: ConfigProviderPathPatch.empty
    }))
    return Effect.withConfigProvider(Effect.either(config), provider).pipe(Effect.map(() => [...names]))
  })

/**
 * The class `Settings` returns, named so that the compiled declarations (dist/*.d.ts) can
 * spell the classes that extend it.
 */
export interface SettingsClass<Self, Id extends string, A> extends Context.TagClass<Self, Id, A> {
  /** Every variable of this service, with its default and validation. */
  readonly config: Config.Config<A>
  /** Values of the required variables, used only to read the defaults. */
  readonly placeholders: Readonly<Record<string, string>>
  /** Read from the environment (the process's `ConfigProvider`). */
  readonly fromEnv: Layer.Layer<Self, ConfigError.ConfigError>
  /** The defaults with `overrides` on top (tests, embedding). */
  readonly make: (overrides?: Partial<A>) => Layer.Layer<Self>
}

/**
 * A settings service: `class XConfig extends Settings<XConfig>()("dialog-bot/XConfig", XConfigSchema) {}`.
 * `fromEnv` reads the environment; `make(overrides)` is the defaults with `overrides` on top.
 */
export const Settings = <Self>() => <const Id extends string, A extends object>(
  id: Id,
  config: Config.Config<A>,
  /** Values of required variables (which have no default) used only to read the defaults. */
  placeholders: Record<string, string> = {}
): SettingsClass<Self, Id, A> => {
  const Tag = Context.Tag(id)<Self, A>()
  const statics = {
    config,
    placeholders,
    fromEnv: Layer.effect(Tag, config),
    make: (overrides: Partial<A> = {}): Layer.Layer<Self> =>
      Layer.effect(Tag, Effect.map(defaultsOf(config, placeholders), (defaults): A => ({ ...defaults, ...overrides })))
  }
  // A tag class with its statics: the declared type is the interface above (the tag's own
  // unification types refer to `this`, which an anonymous class cannot be checked against).
  return Object.assign(class extends Tag {}, statics) as unknown as SettingsClass<Self, Id, A>
}

/** The page that holds the table of every setting (a test checks it against src/ and .env.example). */
export const settingsPage = "docs/configuration.md"

/** Where a person reads about every setting. */
export const settingsReference = `${settingsPage} (or .env.example)`

/** What to do about a required variable that is not set, for the few that have no default. */
const requiredHints: Record<string, string> = {
  TELEGRAM_BOT_TOKEN: "the token @BotFather gave the bot, e.g. 123456:ABC-DEF…",
  YDB_CONNECTION_STRING: "needed with STORE=ydb, e.g. grpc://localhost:2136/local",
  DATABASE_URL: "needed with STORE=postgres, e.g. postgres://user@host:5432/db",
  WEBHOOK_URL: "the public https URL Telegram should post updates to (ending in WEBHOOK_PATH)"
}

const sentence = (text: string): string => text.length === 0 ? text : text[0]!.toLowerCase() + text.slice(1)

/** One line per problem of a configuration error: the variable, what is wrong, how to fix it. */
export const configErrorLines = (error: ConfigError.ConfigError): ReadonlyArray<string> => {
  switch (error._op) {
    case "And":
    case "Or":
      return [...new Set([...configErrorLines(error.left), ...configErrorLines(error.right)])]
    case "MissingData": {
      const name = error.path.join("_")
      if (name === "") return [sentence(error.message)]
      const hint = requiredHints[name]
      return [`${name} is not set${hint === undefined ? "" : ` (${hint})`}: set it in the environment`]
    }
    case "InvalidData":
    case "SourceUnavailable":
    case "Unsupported": {
      const name = error.path.join("_")
      // A validation message names its variable itself (`PORT must be …`).
      if (name === "" || error.message.startsWith(name)) return [error.message]
      return [`${name} is invalid: ${sentence(error.message)}`]
    }
  }
}

/**
 * A configuration error as a person reads it: each problem on one line (at most three), then
 * where every setting is described (`reference`: this project's page, or a team's bot's help).
 */
export const formatConfigError = (error: ConfigError.ConfigError, reference: string = settingsReference): string => {
  const lines = configErrorLines(error)
  const shown = lines.slice(0, 3)
  const more = lines.length > shown.length ? ` (and ${lines.length - shown.length} more)` : ""
  return `${shown.join("\n")}${more}\nEvery setting is described in ${reference}.`
}
