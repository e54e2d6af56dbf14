/**
 * `poll` with `CLUSTER=true`: two replicas as real processes (`node bin/dialog-bot.mjs poll`)
 * on one PostgreSQL, each reaching the fake Bot API through a proxy of its own that tells
 * whose `getUpdates` it is. The poller is a cluster singleton: one replica polls at a time,
 * nothing is answered twice, and when the polling replica is SIGKILLed the other takes over
 * once its lock expires.
 */
import { createServer, type IncomingMessage, type Server } from "node:http"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { bin, exitCode, freePort, type Started, start } from "../support/BotProcess.ts"
import { type FakeBotApi, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { makeFakeOpenAi } from "../support/FakeOpenAi.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { eventually } from "../support/realTime.ts"
import { answeredIds, conversation, echoModel } from "./replicas.ts"

const server = await postgresForTests("cluster_poll")

/** What one replica's proxy saw of its `getUpdates` calls. */
interface Polls {
  started: number
  inFlight: number
}

/** All getUpdates calls in flight at once, across the replicas, and the most there ever were. */
const together = { inFlight: 0, most: 0 }

const body = (request: IncomingMessage) =>
  new Promise<Buffer>((resolve) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks)))
  })

/** A proxy to the fake Bot API for one replica, counting its getUpdates calls; closed with the scope. */
const proxyTo = (fake: FakeBotApi) =>
  Effect.acquireRelease(
    Effect.async<{ readonly server: Server; readonly url: string; readonly polls: Polls }>((resume) => {
      const polls: Polls = { started: 0, inFlight: 0 }
      const proxy = createServer((request, response) => {
        const isPoll = request.url?.endsWith("/getUpdates") === true
        const abort = new AbortController()
        // The replica went away (SIGKILL): the call upstream ends too.
        response.on("close", () => abort.abort())
        if (isPoll) {
          polls.started++
          polls.inFlight++
          together.inFlight++
          together.most = Math.max(together.most, together.inFlight)
          response.on("close", () => {
            polls.inFlight--
            together.inFlight--
          })
        }
        void body(request).then((payload) =>
          fetch(`${fake.url}${request.url ?? "/"}`, {
            method: request.method ?? "GET",
            headers: { "content-type": request.headers["content-type"] ?? "application/json" },
            ...(request.method === "GET" ? {} : { body: payload }),
            signal: abort.signal
          }).then(
            async (upstream) => {
              const text = await upstream.text()
              response.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "application/json" })
              response.end(text)
            },
            () => response.destroy()
          )
        )
      })
      proxy.listen(0, "127.0.0.1", () => {
        const address = proxy.address()
        const port = typeof address === "object" && address !== null ? address.port : 0
        resume(Effect.succeed({ server: proxy, url: `http://127.0.0.1:${port}`, polls }))
      })
    }),
    ({ server: proxy }) =>
      Effect.async<void>((resume) => {
        proxy.closeAllConnections()
        proxy.close(() => resume(Effect.void))
      })
  )

describe.skipIf(server._tag !== "Ready")(whenReady(server, "poll with CLUSTER=true on two replicas"), () => {
  it.live("one replica polls at a time, nothing is answered twice, and the other takes over on SIGKILL", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeBotApi()
      const model = yield* makeFakeOpenAi({ fallback: echoModel(20) })
      const replica = (proxyUrl: string) =>
        Effect.gen(function*() {
          const runnerPort = yield* freePort
          return yield* start(process.execPath, [bin, "poll"], {
            TELEGRAM_BOT_TOKEN: fake.token,
            TELEGRAM_API_BASE_URL: proxyUrl,
            OPENAI_BASE_URL: model.url,
            OPENAI_API_KEY: "sk-test-cluster",
            STORE: "postgres",
            DATABASE_URL: server._tag === "Ready" ? server.url : "",
            DATABASE_POOL_SIZE: "4",
            CLUSTER: "true",
            RUNNER_HOST: "127.0.0.1",
            RUNNER_PORT: String(runnerPort),
            CLUSTER_LOCK_REFRESH: "2 seconds",
            CLUSTER_LOCK_EXPIRY: "8 seconds",
            CLUSTER_SHARDS: "16",
            TELEGRAM_POLL_TIMEOUT: "2",
            LOG_LEVEL: "warning"
          })
        })
      const proxies = [yield* proxyTo(fake), yield* proxyTo(fake)] as const
      const replicas: ReadonlyArray<Started> = [yield* replica(proxies[0].url), yield* replica(proxies[1].url)]
      const output = () => replicas.map((r, i) => `replica ${i + 1}:\n${r.stderr().slice(-2000)}`).join("\n")

      const chats = [8_100_001, 8_100_002, 8_100_003]
      const [before, after] = [conversation(chats, 2, 50_000), conversation(chats, 2, 60_000)]
      const pendingInbox = Effect.flatMap(Inbox, (inbox) => inbox.pendingCount).pipe(
        Effect.provide(StoresPostgres({ url: Redacted.make(server._tag === "Ready" ? server.url : ""), connectTimeout: "5 seconds" })),
        Effect.orDie
      )
      const answers = Effect.forEach(chats, (chat) => Effect.map(fake.sentTexts(chat), answeredIds))
      const ids = (updates: ReadonlyArray<ReadonlyArray<{ readonly update_id: number }>>) =>
        updates.map((chat) => chat.map((u) => u.update_id))

      yield* fake.pushUpdates(...before.flat())
      const first = yield* eventually(answers, (a) => a.flat().length >= 6, "120 seconds").pipe(
        Effect.catchAll((e) => Effect.die(new Error(`${e}\n${output()}`)))
      )
      expect(first).toEqual(ids(before))
      // One poller at a time: never two getUpdates calls at once. Which replica polls may change
      // once, when the second runner joins and the singleton's shard moves to it (the first
      // runner held every shard until then; on a loaded machine it may have polled already).
      const pollers = proxies.map((p) => p.polls.started > 0)
      expect(pollers.filter(Boolean).length).toBeGreaterThanOrEqual(1)
      expect(together.most).toBe(1)

      // Every dialog finished (none in flight to run again after the kill): from here on, an
      // answer sent twice could only come from a second poller or an update taken twice.
      yield* eventually(pendingInbox, (n) => n === 0, "60 seconds")

      // The poller is killed; the other replica takes over once its lock expires.
      const victim = pollers.indexOf(true)
      const heir = 1 - victim
      replicas[victim]!.child.kill("SIGKILL")
      yield* exitCode(replicas[victim]!.child)
      yield* fake.pushUpdates(...after.flat())
      const all = yield* eventually(answers, (a) => a.flat().length >= 12, "120 seconds").pipe(
        Effect.catchAll((e) => Effect.die(new Error(`${e}\n${output()}`)))
      )
      // Nothing answered twice, each chat in order.
      expect(all).toEqual(ids(before).map((chat, i) => [...chat, ...ids(after)[i]!]))
      expect(proxies[heir]!.polls.started).toBeGreaterThan(0)
      expect(together.most).toBe(1)
    }).pipe(Effect.scoped), 300_000)
})
