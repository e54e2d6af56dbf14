/** Conversation state on YDB: table `conversation_state`, keyed by `key`. */
import { identifier } from "@ydbjs/query"
import { Clock, Effect, Layer, Option, Schema } from "effect"
import { StoreError } from "../../domain/errors.ts"
import { ConversationState } from "../ConversationState.ts"
import { int64, text } from "./statements.ts"
import { ydbTables, type YdbTables } from "./schema.ts"
import { YdbClient } from "./YdbClient.ts"

const decodeValues = Schema.decodeUnknown(Schema.Array(Schema.Struct({ value: Schema.String })))

export const makeConversationStateYdb = (tables: YdbTables) =>
  Effect.gen(function*() {
    const ydb = yield* YdbClient
    const table = identifier(tables.state)
    return ConversationState.of({
      get: (key) =>
        ydb.run("get", tables.state, (sql) => sql`SELECT value FROM ${table} WHERE key = ${text(key)}`, { idempotent: true }).pipe(
          Effect.flatMap((results) =>
            Effect.mapError(
              decodeValues(results[0] ?? []),
              () => new StoreError({ operation: "get", message: `a row of ${tables.state} does not match its schema` })
            )
          ),
          Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), (row) => row.value))
        ),
      // UPSERT replaces the row: repeating it is safe.
      put: (key, value) =>
        Effect.flatMap(Clock.currentTimeMillis, (now) =>
          ydb.run(
            "put",
            tables.state,
            (sql) => sql`UPSERT INTO ${table} (key, value, updated_at) VALUES (${text(key)}, ${text(value)}, ${int64(now)})`,
            { idempotent: true }
          )).pipe(Effect.asVoid),
      remove: (key) =>
        ydb.run(
          "remove",
          tables.state,
          (sql) =>
            sql`$found = SELECT key FROM ${table} WHERE key = ${text(key)};
                SELECT COUNT(*) AS n FROM $found;
                DELETE FROM ${table} ON SELECT * FROM $found;`.isolation("serializableReadWrite"),
          { idempotent: false }
        ).pipe(
          Effect.map((results) => {
            const row = (results[0] ?? [])[0] as { readonly n?: unknown } | undefined
            return Number(row?.n ?? 0) > 0
          })
        )
    })
  })

/** Conversation state on the `YdbClient` of the context. */
export const ConversationStateYdb = (tables: YdbTables = ydbTables()) =>
  Layer.effect(ConversationState, makeConversationStateYdb(tables))
