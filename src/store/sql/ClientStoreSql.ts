/** Clients on an SQL database (`SqlStores.ts`): table `clients`, one row per Telegram user. */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Option } from "effect"
import type { Client } from "../../domain/Dialog.ts"
import { StoreError } from "../../domain/errors.ts"
import type { TelegramId } from "../../domain/Update.ts"
import { ClientStore } from "../ClientStore.ts"
import { clientColumns, decodeClients } from "../rows.ts"
import { optionalText, SqlDialect } from "./SqlDialect.ts"

const table = "clients"

export const makeClientStoreSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { call, flag, rows, run, text } = yield* SqlDialect
  const columns = sql.unsafe(clientColumns)
  const read = (operation: string) => (result: ReadonlyArray<unknown>) => decodeClients(operation, table)(rows(result))
  const select = (operation: string, id: TelegramId) =>
    Effect.flatMap(run(sql`SELECT ${columns} FROM clients WHERE id = ${id}`), read(operation))
  const one = (operation: string, id: TelegramId) => (clients: ReadonlyArray<Client>) =>
    clients[0] === undefined
      ? Effect.fail(new StoreError({ operation, message: `no client ${id}` }))
      : Effect.succeed(clients[0])

  return ClientStore.of({
    getOrCreate: (user) =>
      call(
        "getOrCreate",
        table,
        Effect.gen(function*() {
          // A known client is one read; a new one is written, then read. Of concurrent creations
          // one row wins: the others' inserts do nothing.
          const known = yield* select("getOrCreate", user.id)
          if (known.length > 0) return known
          const now = yield* Clock.currentTimeMillis
          yield* run(sql`
            INSERT INTO clients (id, first_name, last_name, username, language_code, blocked, created_at)
            VALUES (${user.id}, ${text(user.firstName)}, ${optionalText(text, user.lastName)}, ${optionalText(text, user.username)},
                    ${optionalText(text, user.languageCode)}, ${flag(false)}, ${now})
            ON CONFLICT (id) DO NOTHING`)
          return yield* select("getOrCreate", user.id)
        })
      ).pipe(Effect.flatMap(one("getOrCreate", user.id))),
    get: (id) => call("get", table, select("get", id)).pipe(Effect.map((clients) => Option.fromNullable(clients[0]))),
    updateProfile: (id, patch) =>
      call(
        "updateProfile",
        table,
        Effect.flatMap(
          run(sql`
            UPDATE clients SET
              profile_name = COALESCE(${optionalText(text, patch.name)}, profile_name),
              profile_phone = COALESCE(${optionalText(text, patch.phone)}, profile_phone),
              profile_email = COALESCE(${optionalText(text, patch.email)}, profile_email),
              profile_notes = COALESCE(${optionalText(text, patch.notes)}, profile_notes)
            WHERE id = ${id}
            RETURNING ${columns}`),
          read("updateProfile")
        )
      ).pipe(Effect.flatMap(one("updateProfile", id))),
    setBlocked: (id, blocked) =>
      call("setBlocked", table, run(sql`UPDATE clients SET blocked = ${flag(blocked)} WHERE id = ${id}`)).pipe(Effect.asVoid),
    requestHandoff: (id, reason) =>
      call(
        "requestHandoff",
        table,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(
            run(sql`
              UPDATE clients SET handoff_requested_at = ${now}, handoff_reason = ${text(reason)}
              WHERE id = ${id}
              RETURNING ${columns}`),
            read("requestHandoff")
          ))
      ).pipe(Effect.flatMap(one("requestHandoff", id)))
  })
})

/** The client store on the `SqlClient` and `SqlDialect` of the context. */
export const ClientStoreSql = Layer.effect(ClientStore, makeClientStoreSql)
