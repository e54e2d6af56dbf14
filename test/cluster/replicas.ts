/**
 * Several `serve` replicas in cluster mode as real processes (`node bin/dialog-bot.mjs serve`)
 * on one PostgreSQL, the fake Bot API and the fake OpenAI, and a load balancer in front of
 * them: it posts each chat's updates in order, one at a time as Telegram does, each to the
 * next replica, and posts a refused delivery (an error status, no connection) again to the
 * next one until a replica acknowledges it.
 */
import { Effect, Fiber, type Scope } from "effect"
import { textMessage } from "../../src/testing/index.ts"
import { ended as processEnded, freePort, type Started, startBot, untilHealthy } from "../support/BotProcess.ts"
import type { FakeBotApi } from "../support/FakeBotApi.ts"
import type { FakeOpenAi, FakeRequest } from "../support/FakeOpenAi.ts"
import { realSleep } from "../support/realTime.ts"

export const secret = "cluster-test-secret"

/** The user's text of update `id`: its token `u<id>` comes back in the answer. */
export const question = (id: number) => `question u${id}`

/** The fake model's answer: the `u<id>` tokens of the last user message, after a delay (a dialog takes a while). */
export const echoModel = (delayMs: number) => (request: FakeRequest) => {
  const users = request.messages.filter((m) => m["role"] === "user")
  const last = users[users.length - 1]
  const content = typeof last?.["content"] === "string" ? last["content"] : JSON.stringify(last?.["content"] ?? "")
  const tokens = content.match(/u\d+/g) ?? []
  return { delayMs, then: `answer ${tokens.join(" ")}` }
}

/** The `u<id>` tokens of the answers sent to `chat`, in order. */
export const answeredIds = (texts: ReadonlyArray<string>): ReadonlyArray<number> =>
  texts.flatMap((text) => (text.match(/u(\d+)/g) ?? []).slice(-1).map((token) => Number(token.slice(1))))

export interface Replica {
  readonly name: string
  readonly port: number
  readonly runnerPort: number
  /** The running process; replaced by `restart`. */
  process: Started
}

export interface ClusterEnv {
  readonly fake: FakeBotApi
  readonly model: FakeOpenAi
  readonly databaseUrl: string
  /** Extra settings for every replica (lock timings, deadlines). */
  readonly settings: Record<string, string>
}

const spawnReplica = (env: ClusterEnv, port: number, runnerPort: number) =>
  startBot(["serve"], {
    TELEGRAM_BOT_TOKEN: env.fake.token,
    TELEGRAM_API_BASE_URL: env.fake.url,
    OPENAI_BASE_URL: env.model.url,
    OPENAI_API_KEY: "sk-test-cluster",
    STORE: "postgres",
    DATABASE_URL: env.databaseUrl,
    DATABASE_POOL_SIZE: "4",
    CLUSTER: "true",
    RUNNER_HOST: "127.0.0.1",
    RUNNER_PORT: String(runnerPort),
    HOST: "127.0.0.1",
    PORT: String(port),
    WEBHOOK_SECRET: secret,
    LOG_LEVEL: "warning",
    ...env.settings
  })

/** Waits until the replica answers, at most `timeoutMs`; fails with its output otherwise. */
const untilUp = (replica: Replica, timeoutMs: number) =>
  Effect.flatMap(untilHealthy(replica.process, replica.port, timeoutMs), (up) =>
    up
      ? Effect.void
      : Effect.die(new Error(`replica ${replica.name} did not start:\n${replica.process.stderr().slice(-3000)}`)))

/** Starts `count` replicas (killed at the end of the scope) and waits until each answers. */
export const startReplicas = (env: ClusterEnv, count: number): Effect.Effect<ReadonlyArray<Replica>, never, Scope.Scope> =>
  Effect.gen(function*() {
    const replicas: Array<Replica> = []
    for (let i = 0; i < count; i++) {
      const port = yield* freePort
      const runnerPort = yield* freePort
      replicas.push({ name: `r${i + 1}`, port, runnerPort, process: yield* spawnReplica(env, port, runnerPort) })
    }
    yield* Effect.forEach(replicas, (r) => untilUp(r, 60_000), { concurrency: "unbounded", discard: true })
    return replicas
  })

/** Starts the replica again on its ports (after it stopped) and waits until it answers. */
export const restart = (env: ClusterEnv, replica: Replica) =>
  Effect.gen(function*() {
    replica.process = yield* spawnReplica(env, replica.port, replica.runnerPort)
    yield* untilUp(replica, 60_000)
  })

/** Whether the replica's process has ended. */
export const ended = (replica: Replica) => processEnded(replica.process.child)

export interface Delivery {
  /** Deliveries a replica refused or could not take, posted again to the next one. */
  refused: number
  /** Updates acknowledged so far. */
  acked?: number
}

/** Posts `body` to one replica's webhook: the status, or 0 when there was no answer. */
const post = (port: number, body: string) =>
  Effect.promise(() =>
    fetch(`http://127.0.0.1:${port}/telegram/webhook`, {
      method: "POST",
      headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
      body,
      signal: AbortSignal.timeout(10_000)
    }).then((res) => res.status, () => 0)
  )

/**
 * The load balancer: delivers `updates` (one chat's, in order) one at a time, each to the
 * next replica in turn; a delivery not acknowledged with 200 goes to the next replica after
 * a short pause, until one takes it.
 */
export const deliverChat = (
  replicas: ReadonlyArray<Replica>,
  updates: ReadonlyArray<unknown>,
  stats: Delivery,
  offset: number,
  paceMs: number
) =>
  Effect.gen(function*() {
    let next = offset
    for (const update of updates) {
      yield* realSleep(paceMs)
      const body = JSON.stringify(update)
      for (;;) {
        const replica = replicas[next++ % replicas.length]!
        const status = yield* post(replica.port, body)
        if (status === 200) {
          stats.acked = (stats.acked ?? 0) + 1
          break
        }
        stats.refused++
        yield* realSleep(100)
      }
    }
  })

/** `rounds` updates for each chat of `chats`, ids from `firstId`, interleaved round by round. */
export const conversation = (chats: ReadonlyArray<number>, rounds: number, firstId: number) =>
  chats.map((chat, c) =>
    Array.from({ length: rounds }, (_, round) => {
      const updateId = firstId + round * chats.length + c
      return textMessage({ updateId, userId: chat, chatId: chat, firstName: "Ann", text: question(updateId) })
    })
  )

/** Delivers every chat's updates in parallel (each chat in order, `paceMs` apart); returns the delivery fiber. */
export const deliverAll = (
  replicas: ReadonlyArray<Replica>,
  chats: ReadonlyArray<ReadonlyArray<unknown>>,
  stats: Delivery,
  paceMs = 0
) =>
  Effect.fork(
    Effect.forEach(chats, (updates, i) => deliverChat(replicas, updates, stats, i, paceMs), { concurrency: "unbounded", discard: true })
  )

export { Fiber }
