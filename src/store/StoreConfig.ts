/**
 * Settings of the stores, read with effect's `Config`: which store (`STORE`), where the SQLite
 * file lives, and how to reach PostgreSQL and YDB. Credentials are `Redacted`.
 */
import { Config, ConfigError, Context, Either, Option, Redacted } from "effect"
import { duration, positiveInt, Settings } from "../config.ts"

/** `STORE`: which layers hold the four stores (clients, history, the inbox, conversation state). */
export const StoreKind = Config.literal("memory", "sqlite", "postgres", "ydb")("STORE").pipe(
  Config.withDefault("sqlite" as const)
)
export type StoreKind = Config.Config.Success<typeof StoreKind>

/**
 * The single-instance lease: a lone process holds the lease of its SQLite file or PostgreSQL
 * database while it runs, and a second process on the same store refuses to start.
 */
export const SingleInstanceConfig = Config.all({
  /** How long a lease lasts unrenewed: how long a process that died on another host blocks a start. */
  leaseTtl: duration("INSTANCE_LEASE_TTL", "20 seconds")
})
export type SingleInstanceConfig = Config.Config.Success<typeof SingleInstanceConfig>

/**
 * Whether other processes share this store: the replicas of a cluster (`CLUSTER=true`, owned
 * by src/cluster/ClusterConfig.ts), which then take no single-instance lease. The cluster mode
 * provides `true` to the stores it builds; a lone process holds the lease.
 */
export class SharedStore extends Context.Reference<SharedStore>()("dialog-bot/SharedStore", {
  defaultValue: (): boolean => false
}) {}

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

/**
 * Whether `url` is a PostgreSQL connection URL: `postgres://` or `postgresql://`, with a host
 * or a `host` parameter (a socket directory). Says what is wrong without repeating the URL,
 * which may hold a password.
 */
export const postgresUrlProblem = (url: string): string | undefined => {
  if (!URL.canParse(url)) return "is not a URL"
  const parsed = new URL(url)
  if (parsed.protocol !== "postgres:" && parsed.protocol !== "postgresql:") {
    return `has the scheme ${parsed.protocol.replace(/:$/, "")}, not postgres or postgresql`
  }
  if (parsed.hostname === "" && !parsed.searchParams.has("host")) return "names no host"
  return undefined
}

const DatabaseUrl: Config.Config<Redacted.Redacted> = Config.option(Config.redacted("DATABASE_URL")).pipe(
  Config.mapOrFail((url): Either.Either<Redacted.Redacted, ConfigError.ConfigError> => {
    if (Option.isNone(url) || Redacted.value(url.value).trim() === "") {
      return Either.left(ConfigError.MissingData(
        ["DATABASE_URL"],
        "STORE=postgres needs DATABASE_URL, e.g. postgres://user:password@host:5432/database"
      ))
    }
    const problem = postgresUrlProblem(Redacted.value(url.value).trim())
    return problem === undefined
      ? Either.right(Redacted.make(Redacted.value(url.value).trim()))
      : Either.left(ConfigError.InvalidData(["DATABASE_URL"], `DATABASE_URL ${problem}: expected postgres://user:password@host:5432/database`))
  })
)

/** The PostgreSQL database of `STORE=postgres`. */
export const PostgresConfig = Config.all({
  /** `postgres://user:password@host:5432/database`; TLS and the like as URL parameters. */
  url: DatabaseUrl,
  /** Connections the pool opens at most. */
  poolSize: positiveInt("DATABASE_POOL_SIZE", 10),
  /** How long opening a connection may take, at start and after. */
  connectTimeout: duration("DATABASE_CONNECT_TIMEOUT", "10 seconds"),
  /** Deadline of one store operation (a timed-out one is a retryable StoreError). */
  queryTimeout: duration("DATABASE_QUERY_TIMEOUT", "10 seconds")
})
export type PostgresConfig = Config.Config.Success<typeof PostgresConfig>

/** How the YDB driver authenticates; anonymous unless a credential is configured. */
export type YdbCredentials =
  | { readonly _tag: "Anonymous" }
  | { readonly _tag: "Static"; readonly user: string; readonly password: Redacted.Redacted }
  | { readonly _tag: "AccessToken"; readonly token: Redacted.Redacted }
  /** `endpoint`: where the token is fetched; the cloud's metadata service unless given (tests give their own). */
  | { readonly _tag: "Metadata"; readonly endpoint?: string }

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
    // A password alone would otherwise connect anonymously, as if no credential were configured.
    if (Option.isSome(password)) return Either.left(ConfigError.MissingData(["YDB_USER"], "YDB_PASSWORD is set without YDB_USER"))
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

/**
 * Every variable of the stores, the owner of them all; each store's layer reads its own part
 * (`StoreKind`, `SqliteConfig`, `PostgresConfig`, `YdbConfig`) when it is built.
 */
export class StoreConfig extends Settings<StoreConfig>()(
  "dialog-bot/StoreConfig",
  Config.all({
    kind: StoreKind,
    singleInstance: SingleInstanceConfig,
    sqlite: SqliteConfig,
    postgres: PostgresConfig,
    ydb: YdbConfig
  }),
  { DATABASE_URL: "postgres://localhost/bot", YDB_CONNECTION_STRING: "grpc://localhost:2136/local" }
) {}
