/** Clients on the SQLite database: table `clients`, one row per Telegram user. */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Option } from "effect"
import type { Client } from "../../domain/Dialog.ts"
import { StoreError } from "../../domain/errors.ts"
import type { TelegramId } from "../../domain/Update.ts"
import { ClientStore } from "../ClientStore.ts"
import { decodeClients } from "../rows.ts"
import { sqliteCall, statementRunner } from "./statement.ts"

const table = "clients"

export const makeClientStoreSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const run = yield* statementRunner
  const select = (operation: string, id: TelegramId) =>
    Effect.flatMap(run(sql`SELECT * FROM clients WHERE id = ${id}`), decodeClients(operation, table))
  const one = (operation: string, id: TelegramId) => (clients: ReadonlyArray<Client>) =>
    clients[0] === undefined
      ? Effect.fail(new StoreError({ operation, message: `no client ${id}` }))
      : Effect.succeed(clients[0])

  return ClientStore.of({
    getOrCreate: (user) =>
      sqliteCall(
        "getOrCreate",
        table,
        Effect.gen(function*() {
          // A known client is one read; a new one is written, then read.
          const known = yield* select("getOrCreate", user.id)
          if (known.length > 0) return known
          const now = yield* Clock.currentTimeMillis
          yield* run(sql`
            INSERT INTO clients (id, first_name, last_name, username, language_code, blocked, created_at)
            VALUES (${user.id}, ${user.firstName}, ${user.lastName ?? null}, ${user.username ?? null},
                    ${user.languageCode ?? null}, 0, ${now})
            ON CONFLICT (id) DO NOTHING`)
          return yield* select("getOrCreate", user.id)
        })
      ).pipe(Effect.flatMap(one("getOrCreate", user.id))),
    get: (id) => sqliteCall("get", table, select("get", id)).pipe(Effect.map((clients) => Option.fromNullable(clients[0]))),
    updateProfile: (id, patch) =>
      sqliteCall(
        "updateProfile",
        table,
        Effect.flatMap(
          sql`
            UPDATE clients SET
              profile_name = COALESCE(${patch.name ?? null}, profile_name),
              profile_phone = COALESCE(${patch.phone ?? null}, profile_phone),
              profile_email = COALESCE(${patch.email ?? null}, profile_email),
              profile_notes = COALESCE(${patch.notes ?? null}, profile_notes)
            WHERE id = ${id}
            RETURNING *`,
          decodeClients("updateProfile", table)
        )
      ).pipe(Effect.flatMap(one("updateProfile", id))),
    setBlocked: (id, blocked) =>
      sqliteCall("setBlocked", table, run(sql`UPDATE clients SET blocked = ${blocked ? 1 : 0} WHERE id = ${id}`)).pipe(Effect.asVoid),
    requestHandoff: (id, reason) =>
      sqliteCall(
        "requestHandoff",
        table,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(
            sql`
              UPDATE clients SET handoff_requested_at = ${now}, handoff_reason = ${reason}
              WHERE id = ${id}
              RETURNING *`,
            decodeClients("requestHandoff", table)
          ))
      ).pipe(Effect.flatMap(one("requestHandoff", id)))
  })
})

/** The client store on the `SqlClient` of the context (see `SqliteDatabase`). */
export const ClientStoreSqlite = Layer.effect(ClientStore, makeClientStoreSqlite)
