/** `migrate`: creates or updates the schema of the configured store (STORE=sqlite or ydb). */
import { Command } from "@effect/cli"
import { Console, Effect } from "effect"
import { migrateConfigured } from "../store/Stores.ts"

export const migrateCommand = Command.make("migrate", {}, () =>
  Effect.flatMap(migrateConfigured, Console.log)).pipe(
    Command.withDescription("Create or update the tables of the configured store (STORE=sqlite: SQLITE_PATH; STORE=ydb: YDB_CONNECTION_STRING).")
  )
