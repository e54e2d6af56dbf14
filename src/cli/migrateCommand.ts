/** `migrate`: creates or updates the schema of the configured store (STORE=sqlite or ydb). */
import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { migrateConfigured } from "../store/Stores.ts"
import { describeCommand } from "./help.ts"

export const migrateCommand = Command.make("migrate", {}, () =>
  Effect.flatMap(migrateConfigured, Console.log)).pipe(
    Command.withDescription(describeCommand(
      "Create or update the tables of the configured store (STORE=sqlite: SQLITE_PATH; STORE=ydb: YDB_CONNECTION_STRING).",
      ["STORE", "SQLITE_PATH", "YDB_CONNECTION_STRING", "YDB_TABLE_PREFIX", "YDB_USER", "YDB_PASSWORD", "YDB_ACCESS_TOKEN", "YDB_METADATA_CREDENTIALS"]
    ))
  )
