/**
 * A cluster replica's stop line agrees with the inbox: `stopped: N updates drained, M left
 * pending` after a SIGTERM with every chat's turn running and more of its updates queued on the
 * replica. M is what the shared inbox holds pending once the replica is gone (the queued
 * updates included, not only the runs it interrupted), N the updates it finished during the
 * drain. One replica (a real process) on the file's database, the fake Bot API and a slow fake
 * model (a turn takes three of its answers, 2.4 s at least).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import { exitCode } from "../support/BotProcess.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"
import { makeFakeOpenAi } from "../support/FakeOpenAi.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { conversation, type Delivery, deliverAll, echoModel, Fiber, startReplicas } from "./replicas.ts"

const server = await postgresForTests("cluster_stop_line")

/** The inbox's entries by status. */
const inboxStatuses = (url: string) =>
  Effect.promise(async () => {
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const result = await client.query<{ status: string; n: number }>("SELECT status, count(*)::int AS n FROM inbox GROUP BY status")
      return new Map(result.rows.map((row) => [row.status, row.n]))
    } finally {
      await client.end()
    }
  })

describe.skipIf(server._tag !== "Ready")(whenReady(server, "a cluster replica's stop line"), () => {
  it.scopedLive("agrees with the shared inbox: the updates queued on the replica are left pending, the running ones drained", () =>
    Effect.gen(function*() {
      const url = server._tag === "Ready" ? server.url : ""
      const fake = yield* makeFakeBotApi()
      const model = yield* makeFakeOpenAi({ fallback: echoModel(800) })
      const settings = { FLOOD_BURST: "1000", SHUTDOWN_DEADLINE: "8 seconds", LOG_LEVEL: "warning" }
      const [replica] = yield* startReplicas({ fake, model, databaseUrl: url, settings }, 1)
      const chats = Array.from({ length: 6 }, (_, i) => 7_500_000 + i)
      const rounds = 4
      const stats: Delivery = { refused: 0 }
      yield* Fiber.join(yield* deliverAll([replica!], conversation(chats, rounds, 90_000), stats))
      expect(stats.acked).toBe(chats.length * rounds)
      const doneBefore = (yield* inboxStatuses(url)).get("done") ?? 0

      replica!.process.child.kill("SIGTERM")
      expect(yield* exitCode(replica!.process.child)).toBe(0)
      const line = /stopped: (\d+) updates? drained, (\d+) left pending/.exec(replica!.process.stderr())
      expect(line, replica!.process.stderr().slice(-2000)).not.toBeNull()
      const [drained, left] = [Number(line![1]), Number(line![2])]
      const after = yield* inboxStatuses(url)

      expect(left).toBe(after.get("pending") ?? 0)
      expect(drained).toBe((after.get("done") ?? 0) - doneBefore)
      expect(drained + left + doneBefore).toBe(chats.length * rounds)
      // More than the runs a stop can interrupt (one per chat): the queued updates are counted.
      expect(left).toBeGreaterThan(chats.length)
    }), 120_000)
})
