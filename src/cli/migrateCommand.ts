/** `migrate`: creates or updates the schema of the configured store (STORE=sqlite, postgres or ydb). */
import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { withModule } from "../effect/lazyLayer.ts"
import { describeCommand } from "./help.ts"

export const migrateCommand = Command.make("migrate", {}, () =>
  withModule(() => import("../store/Stores.ts"), (stores) => Effect.flatMap(stores.migrateConfigured, Console.log))).pipe(
    Command.withDescription(describeCommand(
      "Create or update the tables of the configured store (STORE=sqlite: SQLITE_PATH; STORE=postgres: DATABASE_URL, e.g. postgres://user@host:5432/db; STORE=ydb: YDB_CONNECTION_STRING).",
      ["STORE", "SQLITE_PATH", "DATABASE_URL", "DATABASE_CONNECT_TIMEOUT", "YDB_CONNECTION_STRING", "YDB_TABLE_PREFIX", "YDB_USER", "YDB_PASSWORD", "YDB_ACCESS_TOKEN", "YDB_METADATA_CREDENTIALS"]
    ))
  )
