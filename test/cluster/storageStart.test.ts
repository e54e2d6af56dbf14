/**
 * The cluster's message storage started by several replicas at once on a fresh database: each
 * runs the library's migrations, and PostgreSQL can refuse one of two concurrent `CREATE TABLE
 * IF NOT EXISTS` ("duplicate key value violates unique constraint pg_type_typname_nsp_index"),
 * which the library turns into a defect. `retriedStart` (`src/cluster/ClusterRunner.ts`) starts
 * it again; each of the storages here has a pool of its own, as each replica has.
 */
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Duration, Effect, Exit, Layer, Redacted } from "effect"
import { ClusterConfig } from "../../src/cluster/ClusterConfig.ts"
import { ClusterRunner, retriedStart } from "../../src/cluster/ClusterRunner.ts"
import { freePort } from "../support/BotProcess.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"

const rounds = 4
const together = 6
const databases = await Promise.all(Array.from({ length: rounds }, (_, i) => postgresForTests(`storage_start_${i}`)))

/** The message storage on a pool of its own, started. */
const started = (url: string) =>
  Effect.exit(Effect.scoped(Layer.build(
    retriedStart(SqlMessageStorage.layer).pipe(
      Layer.provide(ShardingConfig.layer()),
      Layer.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 2 }))
    )
  )))

describe.skipIf(databases.some((d) => d._tag !== "Ready"))(
  whenReady(databases[0]!, "the cluster runner's start on PostgreSQL"),
  () => {
    it.live(`${together} at once on each of ${rounds} fresh databases: every one starts`, () =>
      Effect.forEach(databases, (database) =>
        Effect.gen(function*() {
          const url = database._tag === "Ready" ? database.url : ""
          const exits = yield* Effect.all(Array.from({ length: together }, () => started(url)), { concurrency: "unbounded" })
          expect(exits.map((exit) => (Exit.isSuccess(exit) ? "started" : String(Exit.causeOption(exit))))).toEqual(
            Array.from({ length: together }, () => "started")
          )
        }), { discard: true }), 120_000)

    it.live("a runner that cannot start says what the database said", () =>
      Effect.gen(function*() {
        const url = databases[0]!._tag === "Ready" ? databases[0]!.url : ""
        const missing = Redacted.make(url.replace(/\/[^/?]+(\?|$)/, "/no_such_database$1"))
        const config = { ...(yield* ClusterConfig.config.pipe(Effect.orDie)), runnerPort: yield* freePort }
        const runner = ClusterRunner({ config, shutdownDeadline: Duration.seconds(5), url: missing, poolSize: 2 })
        const error = yield* Effect.flip(Effect.scoped(Layer.build(runner)))
        expect(error.message).toMatch(/^the cluster runner did not start \(runner port \d+, PostgreSQL\): .+/)
        expect(error.message).toContain(`database "no_such_database" does not exist`)
      }), 60_000)
  }
)
