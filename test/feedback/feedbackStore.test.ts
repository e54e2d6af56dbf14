/** The feedback store's contract on memory, SQLite and PostgreSQL (`./feedbackYdb.test.ts` has YDB's). */
import { Redacted } from "effect"
import { StoresMemory } from "../../src/store/memory/MemoryStores.ts"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { StoresSqlite } from "../../src/store/sqlite/SqliteStores.ts"
import { postgresForTests } from "../support/Postgres.ts"
import { feedbackContract } from "./feedbackContract.ts"

feedbackContract("memory", StoresMemory)
feedbackContract("sqlite (:memory:)", StoresSqlite({ path: ":memory:", busyTimeout: "1 second" }))

const server = await postgresForTests("feedback_postgres")
feedbackContract(
  "postgres",
  StoresPostgres({ url: Redacted.make(server._tag === "Ready" ? server.url : "postgres://nobody@127.0.0.1:1/none"), connectTimeout: "5 seconds" }),
  { skip: server._tag === "Ready" ? undefined : server.reason }
)
