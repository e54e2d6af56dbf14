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
import { type ChildProcess, spawn } from "node:child_process"
import { createServer } from "node:net"
import pg from "pg"
import { startFakeBotApi } from "./support/fakeBotApi.ts"
import { startFakeOpenAi } from "./support/fakeOpenAi.ts"
import { makeUpdates, runLoad } from "./support/loadgen.ts"
import { round, summarize } from "./support/stats.ts"
import { botNodeFlags } from "./support/nodeFlags.ts"

const root = new URL("..", import.meta.url).pathname
const bin = `${root}bin/dialog-bot.mjs`
const adminUrl = process.env["TEST_DATABASE_URL"]
const updates = Number(process.env["BENCH_UPDATES"] ?? 2000)
const users = 500
const connections = 64
const modelLatency = 100
const secret = "bench-cluster-secret"

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

const freePort = () =>
  new Promise<number>((resolve) => {
    const probe = createServer()
    probe.listen(0, "127.0.0.1", () => {
      const address = probe.address()
      probe.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0))
    })
  })

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
  readonly child: ChildProcess
}

const startReplica = async (env: Record<string, string>): Promise<Replica> => {
  const port = await freePort()
  const runnerPort = await freePort()
  const child = spawn(process.execPath, [...botNodeFlags(), bin, "serve"], {
    cwd: root,
    env: { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "", ...env, PORT: String(port), RUNNER_PORT: String(runnerPort) },
    stdio: ["ignore", "ignore", "inherit"]
  })
  for (let i = 0; i < 1200; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/healthz`).then(() => true, () => false)
    if (up) return { port, child }
    await sleep(100)
  }
  throw new Error(`replica on port ${port} did not start`)
}

const stopReplica = async (replica: Replica) => {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return
  const exited = new Promise((resolve) => replica.child.once("exit", resolve))
  replica.child.kill("SIGTERM")
  await exited
}

/** Each chat's replies in order: `#1`, `#2`, … with none missing or doubled. */
const orderOk = (delivered: ReadonlyArray<{ chatId: number; text: string }>, perChat: number) => {
  const byChat = new Map<number, Array<number>>()
  for (const d of delivered) byChat.set(d.chatId, [...(byChat.get(d.chatId) ?? []), Number(/#(\d+)/.exec(d.text)?.[1])])
  return [...byChat.values()].every((ks) => ks.length === perChat && ks.every((k, i) => k === i + 1))
}

/** The settings of a `serve` replica against the stand-ins and one database. */
const replicaEnv = (openAiUrl: string, botApiUrl: string, databaseUrl: string, cluster: boolean): Record<string, string> => ({
  TELEGRAM_BOT_TOKEN: "123456:bench-token",
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
    botApi.reset()
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
    const acks = summarize(loads.flatMap((l) => l.ackLatenciesMs))
    return {
      replicas: replicaCount,
      ackP50Ms: round(acks.p50),
      ackP99Ms: round(acks.p99),
      completionS: round(completionS),
      repliesPerS: round(botApi.delivered.length / completionS, 0),
      delivered: botApi.delivered.length,
      orderOk: completed && orderOk(botApi.delivered, Math.ceil(updates / users))
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
    botApi.reset()
    const bodies = makeUpdates(600, 150, 500_000)
    const ackedAt = new Map<number, number>()
    let next = 0
    const killedAt = { at: 0 }
    for (const [i, body] of bodies.entries()) {
      if (i === 200) {
        replicas[0]!.child.kill("SIGKILL")
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
    const lastReply = Math.max(...botApi.delivered.map((d) => d.at))
    return {
      updates: bodies.length,
      replies: botApi.delivered.length,
      duplicates: botApi.delivered.length - new Set(botApi.delivered.map((d) => `${d.chatId}:${d.text}`)).size,
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
