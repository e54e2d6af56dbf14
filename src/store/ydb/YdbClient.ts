/**
 * The YDB connection: the driver of YDB SDK v6 (@ydbjs/core) as a scoped resource, and the one
 * place queries run (@ydbjs/query).
 *
 * - The driver is created and closed with the layer's scope; it must reach the database within
 *   `YDB_CONNECT_TIMEOUT` (initial discovery included), else the layer fails with a StoreError.
 * - A query is the SDK's tagged template: every value is a typed parameter (ids as Int64),
 *   never query text.
 * - Retries: the SDK retries YDB's retryable statuses (OVERLOADED and UNAVAILABLE with backoff,
 *   BAD_SESSION and ABORTED at once); UNDETERMINED and TIMEOUT only for queries marked
 *   idempotent. That is the only retry policy of a store call, and `YDB_QUERY_TIMEOUT` bounds
 *   it: the timeout is the deadline of the whole call, retries included.
 * - Interrupting the calling fiber aborts the query through its AbortSignal, which cancels
 *   the gRPC call.
 */
import { Driver } from "@ydbjs/core"
import { StatusIds_StatusCode } from "@ydbjs/api/operation"
import type { CredentialsProvider } from "@ydbjs/auth"
import { AccessTokenCredentialsProvider } from "@ydbjs/auth/access-token"
import { AnonymousCredentialsProvider } from "@ydbjs/auth/anonymous"
import { MetadataCredentialsProvider } from "@ydbjs/auth/metadata"
import { StaticCredentialsProvider } from "@ydbjs/auth/static"
import { query, type QueryClient } from "@ydbjs/query"
import { Context, Duration, Effect, Layer, Redacted } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { plainRows } from "../rows.ts"
import type { YdbConfig, YdbCredentials } from "../StoreConfig.ts"
import { annotateSpan } from "../../observability/span.ts"

/**
 * One result set: rows as objects of column name → value, decoded by the caller. Values are in
 * plain form (`plainValue` of `../rows.ts`): Int64 and Uint64 as exact numbers, Bool as 0/1,
 * Timestamp as epoch milliseconds.
 */
export type Rows = ReadonlyArray<unknown>

/** A query built from the client; awaiting it runs it. */
export type Statement = ReturnType<QueryClient>

export interface QueryOptions {
  /** Safe to run twice: the SDK may then retry it after UNDETERMINED or a transport error. */
  readonly idempotent: boolean
  /** Maps a YDB status to a result instead of a failure (e.g. a key conflict of INSERT). */
  readonly onStatus?: ((status: YdbStatus) => ReadonlyArray<Rows> | undefined) | undefined
}

export interface YdbStatus {
  readonly code: number
  readonly name: string
  /** Issue codes, nested ones included. */
  readonly issueCodes: ReadonlyArray<number>
}

export interface YdbClientService {
  /** Runs one query; its result sets in order. */
  readonly run: (
    operation: string,
    table: string,
    build: (sql: QueryClient) => Statement,
    options: QueryOptions
  ) => Effect.Effect<ReadonlyArray<Rows>, StoreError>
  /** The database path of the connection string. */
  readonly database: string
}

export class YdbClient extends Context.Tag("dialog-bot/YdbClient")<YdbClient, YdbClientService>() {}

// ── errors ──────────────────────────────────────────────────────────────────────────────

const statusName = (code: number): string => StatusIds_StatusCode[code] ?? `status ${code}`

const retryableStatuses = new Set<number>([
  StatusIds_StatusCode.ABORTED,
  StatusIds_StatusCode.OVERLOADED,
  StatusIds_StatusCode.UNAVAILABLE,
  StatusIds_StatusCode.BAD_SESSION,
  StatusIds_StatusCode.SESSION_BUSY,
  StatusIds_StatusCode.SESSION_EXPIRED,
  StatusIds_StatusCode.UNDETERMINED,
  StatusIds_StatusCode.TIMEOUT
])

const field = (value: unknown, name: string): unknown =>
  typeof value === "object" && value !== null && name in value ? (value as Record<string, unknown>)[name] : undefined

const issueCodes = (issues: unknown): ReadonlyArray<number> =>
  Array.isArray(issues)
    ? issues.flatMap((issue) => {
      const code = field(issue, "issueCode") ?? field(issue, "issue_code")
      return [...(typeof code === "number" ? [code] : []), ...issueCodes(field(issue, "issues"))]
    })
    : []

/** The YDB status an SDK error carries (a YDBError has a status code and its issues). */
export const ydbStatusOf = (error: unknown): YdbStatus | undefined => {
  const code = field(error, "code")
  const issues = field(error, "issues")
  if (typeof code !== "number" || !Array.isArray(issues) || !(error instanceof Error)) return undefined
  return { code, name: statusName(code), issueCodes: issueCodes(issues) }
}

/** gRPC status names of transport errors (nice-grpc's ClientError carries `code` and `details`). */
const grpcStatusNames: Record<number, string> = {
  1: "CANCELLED",
  2: "UNKNOWN",
  4: "DEADLINE_EXCEEDED",
  8: "RESOURCE_EXHAUSTED",
  10: "ABORTED",
  13: "INTERNAL",
  14: "UNAVAILABLE",
  16: "UNAUTHENTICATED"
}

const describeError = (error: unknown): { message: string; retryable: boolean } => {
  const status = ydbStatusOf(error)
  if (status !== undefined) {
    return { message: `YDB answered ${status.name}: ${error instanceof Error ? error.message : ""}`, retryable: retryableStatuses.has(status.code) }
  }
  if (error instanceof Error) {
    const cause = field(error, "cause")
    if (error.name === "TimeoutError" || (error.name === "AbortError" && cause instanceof Error && cause.name === "TimeoutError")) {
      return { message: "the query timed out", retryable: true }
    }
    if (error.name === "AbortError") return { message: "the query was cancelled", retryable: true }
    const code = field(error, "code")
    const details = field(error, "details")
    if (typeof code === "number" && typeof details === "string") {
      return { message: `transport error ${grpcStatusNames[code] ?? code}: ${details}`, retryable: code === 14 || code === 8 || code === 4 }
    }
    return { message: error.message, retryable: false }
  }
  return { message: String(error), retryable: false }
}

export const toStoreError = (operation: string, error: unknown): StoreError => {
  const { message, retryable } = describeError(error)
  return new StoreError({ operation, message, retryable })
}

// ── the driver ──────────────────────────────────────────────────────────────────────────

const credentialsProvider = (credentials: YdbCredentials, connectionString: string): CredentialsProvider => {
  switch (credentials._tag) {
    case "Anonymous":
      return new AnonymousCredentialsProvider()
    case "Static":
      return new StaticCredentialsProvider(
        { username: credentials.user, password: Redacted.value(credentials.password) },
        connectionString
      )
    case "AccessToken":
      return new AccessTokenCredentialsProvider({ token: Redacted.value(credentials.token) })
    case "Metadata":
      return new MetadataCredentialsProvider(credentials.endpoint === undefined ? {} : { endpoint: credentials.endpoint })
  }
}

/** Where the connection string points, without credentials or query parameters. */
const endpointOf = (connectionString: string) => {
  const match = /^([a-z]+:\/\/)?(?:[^@/]*@)?([^/?]+)(\/[^?]*)?/i.exec(connectionString)
  return match ? `${match[1] ?? ""}${match[2] ?? ""}${match[3] ?? ""}` : "(unparsable connection string)"
}

/** Longest interval a Node timer takes (longer ones fire at once). */
const maxTimerMillis = 2_147_483_647

export interface YdbConnectionOptions extends Pick<YdbConfig, "connectionString" | "credentials" | "queryTimeout" | "connectTimeout"> {
  /** Ask the database for its nodes (default). Off: every call goes to the connection string's endpoint. */
  readonly discovery?: boolean
}

/**
 * The SDK ends some calls in the background without waiting for them: the session cleanup
 * after every query (`void deleteSession(…)`) and the periodic discovery. When such a call
 * fails (the driver was just closed, the network is down) its promise rejects with nobody
 * listening, which Node turns into a process crash. This guard, installed once with the first
 * driver, drops exactly those rejections (gRPC client errors and the pool's "No connection
 * available"); any other unhandled rejection is rethrown and crashes as before.
 */
const isSdkBackgroundFailure = (reason: unknown): boolean =>
  reason instanceof Error && (field(reason, "@@nice-grpc:ClientError") === true || reason.message === "No connection available")

/** The guard's listener: drops the SDK's background failures, rethrows any other reason. */
export const dropSdkBackgroundFailures = (reason: unknown): void => {
  if (isSdkBackgroundFailure(reason)) return
  throw reason
}

let rejectionGuardInstalled = false
const installRejectionGuard = Effect.sync(() => {
  if (rejectionGuardInstalled) return
  rejectionGuardInstalled = true
  process.on("unhandledRejection", dropSdkBackgroundFailures)
})

/** The driver, ready: acquired with the scope, closed when it ends. */
export const acquireDriver = (options: YdbConnectionOptions) => {
  const connectMillis = Math.max(1, Math.round(Duration.toMillis(options.connectTimeout)))
  const where = endpointOf(options.connectionString)
  return Effect.acquireRelease(
    Effect.zipRight(installRejectionGuard, Effect.try({
      try: () =>
        new Driver(options.connectionString, {
          credentialsProvider: credentialsProvider(options.credentials, options.connectionString),
          "ydb.sdk.application": "dialog-bot",
          "ydb.sdk.enable_discovery": options.discovery ?? true,
          "ydb.sdk.ready_timeout_ms": connectMillis,
          "ydb.sdk.discovery_timeout_ms": connectMillis,
          // The endpoint list is fetched when the driver starts. A failed periodic refresh rejects
          // with a DOMException nobody awaits (see the guard above, which does not cover it), so
          // the refresh is pushed out to the longest interval a timer allows.
          "ydb.sdk.discovery_interval_ms": maxTimerMillis,
          "ydb.sdk.token_timeout_ms": connectMillis
        }),
      catch: (cause) =>
        new StoreError({ operation: "connect", message: `invalid YDB_CONNECTION_STRING (${where}): ${cause instanceof Error ? cause.message : String(cause)}` })
    })),
    (driver) => Effect.sync(() => driver.close())
  ).pipe(
    Effect.tap((driver) =>
      Effect.tryPromise({
        try: (signal) => driver.ready(signal),
        catch: (cause) =>
          new StoreError({
            operation: "connect",
            message: `cannot reach YDB at ${where} within ${Duration.format(options.connectTimeout)}: ${describeError(cause).message}`,
            retryable: true
          })
      }).pipe(
        Effect.timeoutFail({
          duration: Duration.sum(options.connectTimeout, Duration.seconds(1)),
          onTimeout: () =>
            new StoreError({ operation: "connect", message: `cannot reach YDB at ${where} within ${Duration.format(options.connectTimeout)}`, retryable: true })
        })
      )
    ),
    Effect.withSpan("store.ydb.connect", { attributes: { "db.system.name": "ydb", "server.address": where } })
  )
}

/** The client over a ready driver. */
export const makeYdbClient = (driver: Driver, queryTimeout: Duration.DurationInput): YdbClientService => {
  const sql = query(driver)
  const timeoutMillis = Math.max(1, Math.round(Duration.toMillis(queryTimeout)))
  const run: YdbClientService["run"] = (operation, table, build, options) =>
    Effect.suspend(() => {
      // The deadline of the whole call, the SDK's retries included; the fiber's signal cancels it too.
      const deadline = AbortSignal.timeout(timeoutMillis)
      return Effect.tryPromise({
        try: (signal) =>
          Promise.resolve(build(sql).idempotent(options.idempotent).signal(AbortSignal.any([signal, deadline]))).then(
            (results): ReadonlyArray<Rows> => results.map(plainRows)
          ),
        catch: (error) => error
      }).pipe(
        Effect.catchAll((error) => {
          if (deadline.aborted) return Effect.fail(new StoreError({ operation, message: "the query timed out", retryable: true }))
          const status = ydbStatusOf(error)
          const mapped = status === undefined ? undefined : options.onStatus?.(status)
          return mapped === undefined ? Effect.fail(toStoreError(operation, error)) : Effect.succeed(mapped)
        })
      )
    }).pipe(
      // The SDK's own timeout ends the call; this one only guards against a call that ignores it.
      Effect.timeoutFail({
        duration: Duration.millis(timeoutMillis + 1000),
        onTimeout: () => new StoreError({ operation, message: "the query timed out", retryable: true })
      }),
      // The span of the store call is the instrumentation's; a query only tells it where it went.
      (call) =>
        Effect.zipRight(
          annotateSpan({ "db.system.name": "ydb", "db.collection.name": table, "db.operation.name": operation }),
          call
        )
    )
  return { run, database: driver.database }
}

/** The YDB client on a driver that lives as long as the layer. */
export const YdbClientDriver = (options: YdbConnectionOptions): Layer.Layer<YdbClient, StoreError> =>
  Layer.scoped(YdbClient, Effect.map(acquireDriver(options), (driver) => makeYdbClient(driver, options.queryTimeout)))
