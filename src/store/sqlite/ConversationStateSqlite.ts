/** Conversation state on the SQLite database: table `conversation_state`, keyed by `key`. */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { ConversationState } from "../ConversationState.ts"
import { sqliteCall } from "./statement.ts"

const table = "conversation_state"
const decodeValues = Schema.decodeUnknown(Schema.Array(Schema.Struct({ value: Schema.String })))

export const makeConversationStateSqlite = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  return ConversationState.of({
    get: (key) =>
      sqliteCall("get", table, sql`SELECT value FROM conversation_state WHERE key = ${key}`).pipe(
        Effect.flatMap((rows) =>
          Effect.mapError(decodeValues(rows), () => new StoreError({ operation: "get", message: `a row of ${table} does not match its schema` }))
        ),
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.value))
      ),
    put: (key, value) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        sqliteCall(
          "put",
          table,
          sql`
            INSERT INTO conversation_state (key, value, updated_at) VALUES (${key}, ${value}, ${now})
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
        )).pipe(Effect.asVoid),
    remove: (key) =>
      sqliteCall("remove", table, sql`DELETE FROM conversation_state WHERE key = ${key} RETURNING key`).pipe(
        Effect.map((rows) => rows.length > 0)
      )
  })
})

/** Conversation state on the `SqlClient` of the context (see `SqliteDatabase`). */
export const ConversationStateSqlite = Layer.effect(ConversationState, makeConversationStateSqlite)
