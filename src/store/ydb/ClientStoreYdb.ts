/** Clients on YDB: table `clients`, one row per Telegram user. */
import { identifier } from "@ydbjs/query"
import { Bool } from "@ydbjs/value/primitive"
import { Clock, Effect, Layer, Option } from "effect"
import { StoreError } from "../../domain/errors.ts"
import type { TelegramId } from "../../domain/Update.ts"
import { ClientStore } from "../ClientStore.ts"
import { clientColumns, decodeClients } from "../rows.ts"
import { int64, onKeyConflict, optionalText, text } from "./statements.ts"
import { ydbTables, type YdbTables } from "./schema.ts"
import { YdbClient } from "./YdbClient.ts"

export const makeClientStoreYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const table = identifier(tables.clients)
    const select = (operation: string, id: TelegramId) =>
      ydb.run(operation, tables.clients, (sql) => sql`SELECT ${sql.unsafe(clientColumns)} FROM ${table} WHERE id = ${int64(id)}`, {
        idempotent: true
      }).pipe(
        Effect.flatMap((results) => decodeClients(operation, tables.clients)(results[0] ?? [])),
        Effect.map((clients) => Option.fromNullable(clients[0]))
      )
    const existing = (operation: string, id: TelegramId) =>
      Effect.flatMap(select(operation, id), Option.match({
        onNone: () => Effect.fail(new StoreError({ operation, message: `no client ${id}` })),
        onSome: Effect.succeed
      }))

    return ClientStore.of({
      getOrCreate: (user) =>
        Effect.gen(function*() {
          const found = yield* select("getOrCreate", user.id)
          if (Option.isSome(found)) return found.value
          const now = yield* Clock.currentTimeMillis
          // A concurrent creation wins the key; the stored row is returned either way.
          yield* ydb.run(
            "getOrCreate",
            tables.clients,
            (sql) =>
              sql`INSERT INTO ${table} (id, first_name, last_name, username, language_code, blocked, created_at)
                  VALUES (${int64(user.id)}, ${text(user.firstName)}, ${optionalText(user.lastName)}, ${optionalText(user.username)},
                          ${optionalText(user.languageCode)}, ${new Bool(false)}, ${int64(now)})`,
            { idempotent: true, onStatus: onKeyConflict }
          )
          return yield* existing("getOrCreate", user.id)
        }),
      get: (id) => select("get", id),
      updateProfile: (id, patch) =>
        Effect.zipRight(
          ydb.run(
            "updateProfile",
            tables.clients,
            (sql) =>
              sql`UPDATE ${table} SET
                    profile_name = COALESCE(${optionalText(patch.name)}, profile_name),
                    profile_phone = COALESCE(${optionalText(patch.phone)}, profile_phone),
                    profile_email = COALESCE(${optionalText(patch.email)}, profile_email),
                    profile_notes = COALESCE(${optionalText(patch.notes)}, profile_notes)
                  WHERE id = ${int64(id)}`,
            { idempotent: true }
          ),
          existing("updateProfile", id)
        ),
      setBlocked: (id, blocked) =>
        ydb.run(
          "setBlocked",
          tables.clients,
          (sql) => sql`UPDATE ${table} SET blocked = ${new Bool(blocked)} WHERE id = ${int64(id)}`,
          { idempotent: true }
        ).pipe(Effect.asVoid),
      requestHandoff: (id, reason) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          Effect.zipRight(
            ydb.run(
              "requestHandoff",
              tables.clients,
              (sql) =>
                sql`UPDATE ${table} SET handoff_requested_at = ${int64(now)}, handoff_reason = ${text(reason)}
                    WHERE id = ${int64(id)}`,
              { idempotent: true }
            ),
            existing("requestHandoff", id)
          ))
    })
  })

/** The client store on the `YdbClient` of the context. */
export const ClientStoreYdb = (tables: YdbTables = ydbTables()) => Layer.effect(ClientStore, makeClientStoreYdb(tables))
