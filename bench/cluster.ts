/**
 * W1 in cluster mode: the same 2,000 webhook updates from 500 users over 64 keep-alive
 * connections, against one `serve` replica and against three (`CLUSTER=true`, one PostgreSQL),
 * the connections spread over the replicas; then the failover: updates keep coming while one
 * of three replicas is SIGKILLed, and the bench measures how long the updates of its chats wait.
 *
 *   TEST_DATABASE_URL=postgres://… npx tsx bench/cluster.ts    (or .ci/with-postgres npx tsx bench/cluster.ts)
 *
 * Every replica, the load generator, the fakes and PostgreSQL share this machine's cores: on
 * two cores, three replicas measure the cost of the cluster more than its gain.
 */
import { Effect } from "effect"
import pg from "pg"
import { ended, exited, freePort, spawnBot, type Started, untilHealthy } from "../test/support/BotProcess.ts"
import { benchToken, startFakeBotApi, startFakeOpenAi } from "./support/fakes.ts"
import { makeUpdates, runLoad } from "./support/loadgen.ts"
import { round, summarize } from "./support/stats.ts"
import { botNodeFlags } from "./support/nodeFlags.ts"

const adminUrl = process.env["TEST_DATABASE_URL"]
const updates = Number(process.env["BENCH_UPDATES"] ?? 2000)
const users = 500
const connections = 64
const modelLatency = 100
const secret = "bench-cluster-secret"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** A fresh database for one run on the server of `adminUrl`. */
const freshDatabase = async (name: string) => {
  const client = new pg.Client({ connectionString: adminUrl })
  await client.connect()
  await client.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
  await client.query(`CREATE DATABASE ${name}`)
  await client.end()
  const url = new URL(adminUrl ?? "")
  url.pathname = `/${name}`
  return url.toString()
}

interface Replica {
  readonly port: number
  readonly process: Started
}

const startReplica = async (env: Record<string, string>): Promise<Replica> => {
  const port = await Effect.runPromise(freePort)
  const runnerPort = await Effect.runPromise(freePort)
  const started = spawnBot(["serve"], { ...env, PORT: String(port), RUNNER_PORT: String(runnerPort) }, {
    nodeFlags: botNodeFlags(),
    echoStderr: true,
    ownGroup: false
  })
  if (await Effect.runPromise(untilHealthy(started, port, 120_000))) return { port, process: started }
  started.child.kill("SIGKILL")
  throw new Error(`replica on port ${port} did not start`)
}

const stopReplica = async ({ process: { child } }: Replica) => {
  if (ended(child)) return
  child.kill("SIGTERM")
  await Effect.runPromise(exited(child))
}

/** Each chat's replies in order: `#1`, `#2`, … with none missing or doubled. */
const orderOk = (delivered: ReadonlyArray<{ chatId: number; text: string }>, perChat: number) => {
  const byChat = new Map<number, Array<number>>()
  for (const d of delivered) byChat.set(d.chatId, [...(byChat.get(d.chatId) ?? []), Number(/#(\d+)/.exec(d.text)?.[1])])
  return [...byChat.values()].every((ks) => ks.length === perChat && ks.every((k, i) => k === i + 1))
}

/** The settings of a `serve` replica against the stand-ins and one database. */
const replicaEnv = (openAiUrl: string, botApiUrl: string, databaseUrl: string, cluster: boolean): Record<string, string> => ({
  TELEGRAM_BOT_TOKEN: benchToken,
  TELEGRAM_API_BASE_URL: botApiUrl,
  OPENAI_BASE_URL: openAiUrl,
  OPENAI_API_KEY: "sk-bench",
  STORE: "postgres",
  DATABASE_URL: databaseUrl,
  CLUSTER: String(cluster),
  HOST: "127.0.0.1",
  WEBHOOK_SECRET: secret,
  // The dialog of W1: final messages only, no drafts.
  STREAM_REPLIES: "false",
  LOG_LEVEL: "error"
})

const runW1 = async (replicaCount: number) => {
  const openAi = await startFakeOpenAi(modelLatency)
  const botApi = await startFakeBotApi()
  const env = replicaEnv(openAi.url, botApi.url, await freshDatabase(`bench_cluster_${replicaCount}`), replicaCount > 1)
  const replicas: Array<Replica> = []
  for (let i = 0; i < replicaCount; i++) replicas.push(await startReplica(env))
  try {
    await botApi.reset()
    const bodies = makeUpdates(updates, users)
    // The connections spread over the replicas as a load balancer would: update i to replica i mod n.
    const started = performance.now()
    const loads = await Promise.all(replicas.map((replica, r) =>
      runLoad(
        { port: replica.port, path: "/telegram/webhook", headers: { "x-telegram-bot-api-secret-token": secret } },
        bodies.filter((_, i) => i % replicas.length === r),
        Math.ceil(connections / replicas.length)
      )
    ))
    const completed = await botApi.waitFor(updates, 300_000)
    const completionS = (performance.now() - started) / 1000
    const delivered = botApi.delivered()
    const acks = summarize(loads.flatMap((l) => l.ackLatenciesMs))
    return {
      replicas: replicaCount,
      ackP50Ms: round(acks.p50),
      ackP99Ms: round(acks.p99),
      completionS: round(completionS),
      repliesPerS: round(delivered.length / completionS, 0),
      delivered: delivered.length,
      orderOk: completed && orderOk(delivered, Math.ceil(updates / users))
    }
  } finally {
    for (const replica of replicas) await stopReplica(replica)
    await openAi.close()
    await botApi.close()
  }
}

/**
 * Failover: 600 updates from 150 users posted at a steady rate over three replicas (a refused
 * delivery goes to the next one); one replica is SIGKILLed a third of the way in. Reported:
 * the longest time an update waited from its acknowledgement to its reply, and how many
 * replies went out twice.
 */
const runFailover = async () => {
  const openAi = await startFakeOpenAi(modelLatency)
  const botApi = await startFakeBotApi()
  const env = replicaEnv(openAi.url, botApi.url, await freshDatabase("bench_cluster_failover"), true)
  const replicas: Array<Replica> = []
  for (let i = 0; i < 3; i++) replicas.push(await startReplica(env))
  try {
    await botApi.reset()
    const bodies = makeUpdates(600, 150, 500_000)
    const ackedAt = new Map<number, number>()
    let next = 0
    const killedAt = { at: 0 }
    for (const [i, body] of bodies.entries()) {
      if (i === 200) {
        replicas[0]!.process.child.kill("SIGKILL")
        killedAt.at = performance.now()
      }
      for (;;) {
        const replica = replicas[next++ % replicas.length]!
        const status = await fetch(`http://127.0.0.1:${replica.port}/telegram/webhook`, {
          method: "POST",
          headers: { "content-type": "application/json", "x-telegram-bot-api-secret-token": secret },
          body
        }).then((res) => res.status, () => 0)
        if (status === 200) break
      }
      ackedAt.set(i, performance.now())
      await sleep(20)
    }
    await botApi.waitFor(bodies.length, 180_000)
    const delivered = botApi.delivered()
    const lastReply = Math.max(...delivered.map((d) => d.at))
    return {
      updates: bodies.length,
      replies: delivered.length,
      duplicates: delivered.length - new Set(delivered.map((d) => `${d.chatId}:${d.text}`)).size,
      lastReplyAfterKillS: round((lastReply - killedAt.at) / 1000),
      postingS: round((Math.max(...ackedAt.values()) - killedAt.at) / 1000)
    }
  } finally {
    for (const replica of replicas) await stopReplica(replica)
    await openAi.close()
    await botApi.close()
  }
}

if (adminUrl === undefined) {
  console.error("set TEST_DATABASE_URL to a PostgreSQL server the bench may create databases on (or run it under .ci/with-postgres)")
  process.exit(2)
}
const rows = [await runW1(1), await runW1(3)]
console.table(rows)
const failover = await runFailover()
console.table([failover])
console.log(JSON.stringify({ w1: rows, failover }))
