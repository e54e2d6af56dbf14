/**
 * Stops over the PostgreSQL channel (a database of this file's own), between two replicas each
 * with a connection of its own: a stop sent by one reaches the turn the other runs, a stop for
 * a draft no turn shows is answered false, and replicas whose listening connections are cut
 * listen again on new ones.
 */
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Layer, Option, Redacted } from "effect"
import { makeTurnStops } from "../../src/cluster/TurnStops.ts"
import { makeRunningTurns } from "../../src/dialog/RunningTurns.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { eventually } from "../support/realTime.ts"

const server = await postgresForTests("turn_stops")
const url = Redacted.make(server._tag === "Ready" ? server.url : "postgres://127.0.0.1:1/none")

const chat = 811223344 as TelegramId

/** A replica's connection to the database until the scope closes. */
const connection = Effect.map(Layer.build(Layer.orDie(PgClient.layer({ url }))), (context) => Context.get(context, PgClient.PgClient))

describe.skipIf(server._tag !== "Ready")(whenReady(server, "stops over PostgreSQL"), () => {
  it.scopedLive("a stop from one replica stops the turn another runs; a listener whose connection is cut listens again", () =>
    Effect.gen(function*() {
      const turns = yield* makeRunningTurns
      const runsTurn = yield* connection
      // Both replicas check their listeners every second.
      yield* Effect.provideService(makeTurnStops(Option.some(turns), Duration.seconds(1)), PgClient.PgClient, runsTurn)
      const other = yield* Effect.provideService(makeTurnStops(Option.none(), Duration.seconds(1)), PgClient.PgClient, yield* connection)

      const stopped = yield* turns.enter(chat, 5)
      expect(yield* other.stop(chat, 6)).toBe(false)
      expect(yield* other.stop(chat, 5)).toBe(true)
      yield* stopped

      // The listening connections are cut.
      const next = yield* turns.enter(chat, 7)
      const cut = yield* runsTurn<{ readonly pid: number }>`
        SELECT pg_terminate_backend(pid) AS pid FROM pg_stat_activity
        WHERE datname = current_database() AND query LIKE 'LISTEN%' AND pid <> pg_backend_pid()`
      expect(cut.length).toBeGreaterThanOrEqual(1)
      // Each listens again on a new connection: the stop reaches the turn.
      expect(yield* eventually(other.stop(chat, 7), (found) => found, "30 seconds")).toBe(true)
      yield* next
    }), 60_000)
})
