/** Conversation state on PostgreSQL: table `conversation_state`, keyed by `key`; values are UTF-8 `bytea`. */
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { ConversationState } from "../ConversationState.ts"
import { PostgresConnection } from "./PostgresDatabase.ts"
import { pgRows, utf8 } from "./statement.ts"

const table = "conversation_state"
const decodeValues = Schema.decodeUnknown(Schema.Array(Schema.Struct({ value: Schema.String })))

export const makeConversationStatePostgres = Effect.gen(function*() {
  const { call, sql } = yield* PostgresConnection
  return ConversationState.of({
    get: (key) =>
      call("get", table, sql`SELECT value FROM conversation_state WHERE key = ${key}`).pipe(
        Effect.flatMap((rows) =>
          Effect.mapError(
            decodeValues(pgRows(rows)),
            () => new StoreError({ operation: "get", message: `a row of ${table} does not match its schema` })
          )
        ),
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.value))
      ),
    put: (key, value) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        call(
          "put",
          table,
          sql`
            INSERT INTO conversation_state (key, value, updated_at) VALUES (${key}, ${utf8(value)}, ${now})
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`
        )).pipe(Effect.asVoid),
    remove: (key) =>
      call("remove", table, sql`DELETE FROM conversation_state WHERE key = ${key} RETURNING key`).pipe(
        Effect.map((rows) => rows.length > 0)
      )
  })
})

/** Conversation state on the `PostgresConnection` of the context (see `PostgresDatabase`). */
export const ConversationStatePostgres = Layer.effect(ConversationState, makeConversationStatePostgres)
