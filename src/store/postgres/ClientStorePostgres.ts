/** Clients on PostgreSQL: table `clients`, one row per Telegram user. */
import { Clock, Effect, Layer, Option } from "effect"
import type { Client } from "../../domain/Dialog.ts"
import { StoreError } from "../../domain/errors.ts"
import type { TelegramId } from "../../domain/Update.ts"
import { ClientStore } from "../ClientStore.ts"
import { clientColumns, decodeClients } from "../rows.ts"
import { PostgresConnection } from "./PostgresDatabase.ts"
import { optionalUtf8, pgRows, utf8 } from "./statement.ts"

const table = "clients"

export const makeClientStorePostgres = Effect.gen(function*() {
  const { call, sql } = yield* PostgresConnection
  const columns = sql.unsafe(clientColumns)
  const decode = (operation: string) => (rows: ReadonlyArray<unknown>) => decodeClients(operation, table)(pgRows(rows))
  const select = (operation: string, id: TelegramId) =>
    Effect.flatMap(sql`SELECT ${columns} FROM clients WHERE id = ${id}`, decode(operation))
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
          const now = yield* Clock.currentTimeMillis
          // A concurrent creation waits for the first one and then does nothing: one row wins.
          yield* sql`
            INSERT INTO clients (id, first_name, last_name, username, language_code, blocked, created_at)
            VALUES (${user.id}, ${utf8(user.firstName)}, ${optionalUtf8(user.lastName)}, ${optionalUtf8(user.username)},
                    ${optionalUtf8(user.languageCode)}, false, ${now})
            ON CONFLICT (id) DO NOTHING`
          return yield* select("getOrCreate", user.id)
        })
      ).pipe(Effect.flatMap(one("getOrCreate", user.id))),
    get: (id) => call("get", table, select("get", id)).pipe(Effect.map((clients) => Option.fromNullable(clients[0]))),
    updateProfile: (id, patch) =>
      call(
        "updateProfile",
        table,
        Effect.flatMap(
          sql`
            UPDATE clients SET
              profile_name = COALESCE(${optionalUtf8(patch.name)}, profile_name),
              profile_phone = COALESCE(${optionalUtf8(patch.phone)}, profile_phone),
              profile_email = COALESCE(${optionalUtf8(patch.email)}, profile_email),
              profile_notes = COALESCE(${optionalUtf8(patch.notes)}, profile_notes)
            WHERE id = ${id}
            RETURNING ${columns}`,
          decode("updateProfile")
        )
      ).pipe(Effect.flatMap(one("updateProfile", id))),
    setBlocked: (id, blocked) =>
      call("setBlocked", table, sql`UPDATE clients SET blocked = ${blocked} WHERE id = ${id}`).pipe(Effect.asVoid),
    requestHandoff: (id, reason) =>
      call(
        "requestHandoff",
        table,
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.flatMap(
            sql`
              UPDATE clients SET handoff_requested_at = ${now}, handoff_reason = ${utf8(reason)}
              WHERE id = ${id}
              RETURNING ${columns}`,
            decode("requestHandoff")
          ))
      ).pipe(Effect.flatMap(one("requestHandoff", id)))
  })
})

/** The client store on the `PostgresConnection` of the context (see `PostgresDatabase`). */
export const ClientStorePostgres = Layer.effect(ClientStore, makeClientStorePostgres)
