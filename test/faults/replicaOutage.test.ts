/**
 * Two `serve` replicas in cluster mode as real processes on one PostgreSQL (a throwaway
 * server), the fake Bot API and the fake OpenAI, a steady load of paced chats through both
 * webhooks (each chat's updates in order, a refused delivery posted again to the other
 * replica, as Telegram retries), and the PostgreSQL server stopped mid-load, then started
 * again on the same data: every update is answered with its real answer (no apology), each
 * chat in order, none twice.
 *
 * The fault suite (`npm run test:faults`) runs it at full size: a 10 s outage, 20 users with
 * 12 messages each, ~1 s apart. `npm test` runs it scaled down (a 3 s outage, 4 users with 6
 * messages each): ~25 s with the two replicas' start on a busy two-core machine, the most a
 * scenario may take there.
 */
import { describe, expect, layer } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { answeredIds, type ClusterEnv, conversation, type Delivery, deliverAll, echoModel, Fiber, startReplicas } from "../cluster/replicas.ts"
import { makeFakeBotApi } from "../support/FakeBotApi.ts"
import { makeFakeOpenAi } from "../support/FakeOpenAi.ts"
import { stoppablePostgresForTests, whenReady } from "../support/Postgres.ts"
import { eventually } from "../support/realTime.ts"

const full = process.env["FAULTS_FULL"] === "1"
/** A throwaway server of the file's own, `TEST_DATABASE_URL` or not: a shared server cannot be stopped. */
const server = await stoppablePostgresForTests("replica_outage")
const outage = server._tag === "Ready" ? server.outage : undefined

/** Users, messages per user, the pause of a user between two messages, how long the store is away. */
const size = full
  ? { chats: 20, rounds: 12, paceMs: 1_000, outageMs: 10_000 }
  : { chats: 4, rounds: 6, paceMs: 500, outageMs: 3_000 }

const settings: Record<string, string> = {
  // Each user sends a message a second: past flood protection's burst at full size; tested on its own.
  FLOOD_BURST: "1000",
  SHUTDOWN_DEADLINE: "5 seconds",
  CLUSTER_MESSAGE_POLL: "2 seconds",
  ...(full ? {} : { CLUSTER_LOCK_REFRESH: "2 seconds", CLUSTER_LOCK_EXPIRY: "8 seconds", CLUSTER_SHARDS: "16" })
}

/** The fakes and two replicas on the file's database. */
class Cluster extends Context.Tag("test/OutageCluster")<Cluster, Effect.Effect.Success<typeof setup>>() {}

const setup = Effect.gen(function*() {
  const fake = yield* makeFakeBotApi()
  const model = yield* makeFakeOpenAi({ fallback: echoModel(40) })
  const env: ClusterEnv = { fake, model, databaseUrl: server._tag === "Ready" ? server.url : "", settings }
  const replicas = yield* startReplicas(env, 2)
  return { fake, replicas }
})

/** The real answer of the echo model: the `u<id>` tokens of the user's messages, no apology. */
const realAnswer = /^answer( u\d+)+$/

describe.skipIf(outage === undefined)(
  whenReady(server, "two serve replicas through a PostgreSQL outage"),
  () => {
    layer(Layer.scoped(Cluster, setup), { timeout: "150 seconds", excludeTestServices: true })((it) => {
      it.effect("the database stopped mid-load: every update answered once with its real answer, each chat in order", () =>
        Effect.gen(function*() {
          const { fake, replicas } = yield* Cluster
          const chats = Array.from({ length: size.chats }, (_, i) => 8_100_000 + i)
          const updates = conversation(chats, size.rounds, 50_000)
          const expected = updates.map((chat) => chat.map((u) => u.update_id))
          const total = size.chats * size.rounds
          const stats: Delivery = { refused: 0 }
          const texts = Effect.forEach(chats, (chat) => fake.sentTexts(chat))
          const began = Date.now()
          const delivery = yield* deliverAll(replicas, updates, stats, size.paceMs)

          // Stopped once a quarter of the updates are acknowledged and answers go out: the rest still to come.
          yield* eventually(
            Effect.zip(texts, Effect.sync(() => stats.acked ?? 0)),
            ([sent, acked]) => sent.flat().length >= 1 && acked >= total / 4,
            "60 seconds"
          )
          const ackedBefore = stats.acked ?? 0
          const stoppedAt = Date.now()
          yield* Effect.promise(() => outage!(size.outageMs))
          const backAt = Date.now()
          const ackedDuring = (stats.acked ?? 0) - ackedBefore
          yield* Fiber.join(delivery)
          const sent = yield* eventually(
            texts,
            (all) => all.every((chat, i) => expected[i]!.every((id) => answeredIds(chat).includes(id))),
            "120 seconds"
          )
          const doneAt = Date.now()

          const answered = sent.map(answeredIds)
          const apologies = sent.flat().filter((text) => !realAnswer.test(text))
          const duplicates = answered.flat().length - total
          yield* Effect.logWarning(
            `PostgreSQL stopped ${backAt - stoppedAt} ms (outage ${size.outageMs} ms) under ${size.chats} users × ${size.rounds} messages ` +
              `through two replicas: ${total} updates, ${answered.flat().length} answers, ${duplicates} twice, ${apologies.length} apologies, ` +
              `${stats.refused} deliveries refused and posted again (${ackedDuring} acknowledged during the outage); ` +
              `all answered ${doneAt - backAt} ms after the database was back, ${doneAt - began} ms in all`
          )
          expect(apologies).toEqual([])
          // In order and none twice: each chat's answers are exactly its updates, one each.
          expect(answered).toEqual(expected)
        }), 300_000)
    })
  }
)
