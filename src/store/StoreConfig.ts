/**
 * Settings of the stores, read with effect's `Config`: which store (`STORE`), where the SQLite
 * file lives, and how to reach YDB. Credentials are `Redacted`.
 */
import { Config, ConfigError, Either, Option, type Redacted } from "effect"
import { duration } from "../config.ts"

/** `STORE`: which layers hold clients, history and the inbox. */
export const StoreKind = Config.literal("memory", "sqlite", "ydb")("STORE").pipe(
  Config.withDefault("sqlite" as const)
)
export type StoreKind = Config.Config.Success<typeof StoreKind>

/** The embedded database. `:memory:` keeps it in memory for the life of the process. */
export const SqliteConfig = Config.all({
  /** Path of the database file; its directory is created on first run. */
  path: Config.string("SQLITE_PATH").pipe(Config.withDefault("./data/bot.sqlite")),
  /** How long a statement waits for a lock held by another connection. */
  busyTimeout: duration("SQLITE_BUSY_TIMEOUT", "5 seconds"),
  /**
   * Run SQLite in a worker thread (default). `false` runs it on the main thread, where every
   * statement blocks the event loop: for tools and debugging, not for a bot under load.
   */
  worker: Config.boolean("SQLITE_WORKER").pipe(Config.withDefault(true))
})
export type SqliteConfig = Config.Config.Success<typeof SqliteConfig>

/** How the YDB driver authenticates; anonymous unless a credential is configured. */
export type YdbCredentials =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Static"; readonly user: string; readonly password: Redacted.Redacted }
  | { readonly _tag: "AccessToken"; readonly token: Redacted.Redacted }
  | { readonly _tag: "Metadata" }

const YdbCredentialsConfig: Config.Config<YdbCredentials> = Config.all({
  user: Config.option(Config.string("YDB_USER")),
  password: Config.option(Config.redacted("YDB_PASSWORD")),
  token: Config.option(Config.redacted("YDB_ACCESS_TOKEN")),
  metadata: Config.boolean("YDB_METADATA_CREDENTIALS").pipe(Config.withDefault(false))
}).pipe(
  Config.mapOrFail(({ metadata, password, token, user }): Either.Either<YdbCredentials, ConfigError.ConfigError> => {
    if (Option.isSome(user)) {
      return Option.isSome(password)
        ? Either.right({ _tag: "Static", user: user.value, password: password.value })
        : Either.left(ConfigError.MissingData(["YDB_PASSWORD"], "YDB_USER is set without YDB_PASSWORD"))
    }
    if (Option.isSome(token)) return Either.right({ _tag: "AccessToken", token: token.value })
    if (metadata) return Either.right({ _tag: "Metadata" })
    return Either.right({ _tag: "Anonymous" })
  })
)

export const YdbConfig = Config.all({
  /** `grpc://host:port/database` or `grpcs://…` */
  connectionString: Config.string("YDB_CONNECTION_STRING"),
  credentials: YdbCredentialsConfig,
  /** Deadline of one query, retries of retryable statuses included. */
  queryTimeout: duration("YDB_QUERY_TIMEOUT", "10 seconds"),
  /** How long the driver may take to reach the database at start. */
  connectTimeout: duration("YDB_CONNECT_TIMEOUT", "10 seconds"),
  /** Prefix of the table paths, e.g. `bot/` to keep them in a directory. */
  tablePrefix: Config.string("YDB_TABLE_PREFIX").pipe(Config.withDefault("")),
  /** Time-to-live of finished inbox entries (never below 24 hours). */
  inboxTtl: duration("YDB_INBOX_TTL", "7 days")
})
export type YdbConfig = Config.Config.Success<typeof YdbConfig>
