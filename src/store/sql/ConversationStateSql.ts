/** Conversation state on an SQL database (`SqlStores.ts`): table `conversation_state`, keyed by `key`. */
import { SqlClient } from "@effect/sql"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { ConversationState } from "../ConversationState.ts"
import { SqlDialect } from "./SqlDialect.ts"

const table = "conversation_state"
const decodeValues = Schema.decodeUnknown(Schema.Array(Schema.Struct({ value: Schema.String })))

export const makeConversationStateSql = Effect.gen(function*() {
  const sql = yield* SqlClient.SqlClient
  const { call, rows, run, text } = yield* SqlDialect
  return ConversationState.of({
    get: (key) =>
      call("get", table, run(sql`SELECT value FROM conversation_state WHERE key = ${key}`)).pipe(
        Effect.flatMap((result) =>
          Effect.mapError(
            decodeValues(rows(result)),
            () => new StoreError({ operation: "get", message: `a row of ${table} does not match its schema` })
          )
        ),
        Effect.map((values) => Option.map(Option.fromNullable(values[0]), (row) => row.value))
      ),
    put: (key, value) =>
      Effect.flatMap(Clock.currentTimeMillis, (now) =>
        call(
          "put",
          table,
          run(sql`
            INSERT INTO conversation_state (key, value, updated_at) VALUES (${key}, ${text(value)}, ${now})
            ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`)
        )).pipe(Effect.asVoid),
    remove: (key) =>
      call("remove", table, run(sql`DELETE FROM conversation_state WHERE key = ${key} RETURNING key`)).pipe(
        Effect.map((result) => result.length > 0)
      )
  })
})

/** Conversation state on the `SqlClient` and `SqlDialect` of the context. */
export const ConversationStateSql = Layer.effect(ConversationState, makeConversationStateSql)
