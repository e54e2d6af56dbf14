/**
 * Recovery from the inbox on PostgreSQL, as on SQLite (`sqlite.test.ts`): the store contract's
 * restart story (`recoveryContract.ts`), on a database of its own.
 */
import { Effect, Redacted } from "effect"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { postgresForTests } from "../support/Postgres.ts"
import { recoveryContract } from "./recoveryContract.ts"

const server = await postgresForTests("store_recovery")

recoveryContract(
  "PostgreSQL",
  Effect.succeed(StoresPostgres({ url: Redacted.make(server._tag === "Ready" ? server.url : "postgres://127.0.0.1:1/none") })),
  { skip: server._tag === "Ready" ? undefined : server.reason }
)
