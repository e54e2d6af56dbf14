/**
 * The Stop button in the cluster: replicas in this process, each the whole bot on a runner of
 * its own over one PostgreSQL (a database of this file's own), with the fake Bot API and the
 * live model streaming from the fake endpoint. A stop sent through a replica that does not run
 * the turn reaches the one that does: when the shards are settled, and while the
 * conversation's shard moves to a runner that joins (its old owner drains the turn it runs and
 * no runner holds the shard until the turn ends). Each time the model's connection is closed,
 * no draft follows, and the part shown goes out marked as stopped.
 */
import * as EntityId from "@effect/cluster/EntityId"
import { RunnerAddress } from "@effect/cluster/RunnerAddress"
import { Sharding } from "@effect/cluster/Sharding"
import * as ShardId from "@effect/cluster/ShardId"
import { describe, expect, it } from "@effect/vitest"
import { Context, Duration, Effect, Fiber, HashRing, Layer, Option, Redacted } from "effect"
import { ChatQueueCluster } from "../../src/cluster/ChatQueueCluster.ts"
import { ClusterConfig } from "../../src/cluster/ClusterConfig.ts"
import { ClusterRunner } from "../../src/cluster/ClusterRunner.ts"
import type { TelegramId } from "../../src/domain/Update.ts"
import { Dispatcher } from "../../src/runtime/Dispatcher.ts"
import { Inbox } from "../../src/store/Inbox.ts"
import { StoresPostgres } from "../../src/store/postgres/PostgresStores.ts"
import { textMessage } from "../../src/testing/index.ts"
import { freePort } from "../support/BotProcess.ts"
import { conversationBot } from "../support/ConversationBot.ts"
import { type FakeBotApi, type FakeCall, makeFakeBotApi } from "../support/FakeBotApi.ts"
import { type FakeOpenAi, makeFakeOpenAi, openAiLayerFor } from "../support/FakeOpenAi.ts"
import { postgresForTests, whenReady } from "../support/Postgres.ts"
import { eventually } from "../support/realTime.ts"
import { answerDrafts, answerShown, longAnswer, stopUpdate, submitTo } from "../support/StopButton.ts"

const server = await postgresForTests("cluster_stop")
const url = Redacted.make(server._tag === "Ready" ? server.url : "postgres://127.0.0.1:1/none")

/** Shards of the test cluster: few, so that a runner joining surely takes some. */
const shards = 8
const shardIds = Array.from({ length: shards }, (_, i) => ShardId.make("default", i + 1))

/** A long answer: 600 pieces 50 ms apart (thirty seconds), stopped long before its end. */
const storyAnswer = longAnswer(600)

/** One replica: its runner's address and sharding, and the bot's intake and inbox. */
interface Replica {
  readonly name: string
  readonly address: RunnerAddress
  readonly sharding: Sharding["Type"]
  readonly submit: (raw: unknown) => Effect.Effect<void>
  readonly inbox: Inbox["Type"]
}

/**
 * Starts replica `name` on `runnerPort` until the scope closes: a runner of the cluster and the
 * whole bot on it. A shard that moves away waits for the turn it runs (a minute at most).
 */
const startReplica = (name: string, runnerPort: number, api: FakeBotApi, model: FakeOpenAi) =>
  Effect.gen(function*() {
    const config = yield* ClusterConfig.config.pipe(Effect.orDie)
    const settings = { ...config, runnerPort, shards, messagePoll: Duration.seconds(1) }
    const runner = yield* Layer.build(
      Layer.orDie(ClusterRunner({ config: settings, shutdownDeadline: Duration.minutes(1), url, poolSize: 4 }))
    )
    const queue = ChatQueueCluster.pipe(
      Layer.provide(Layer.merge(Layer.succeedContext(runner), ClusterConfig.make(settings))),
      Layer.orDie
    )
    const bot = yield* Layer.build(conversationBot(api, {
      model: openAiLayerFor(model, { model: "main-model" }),
      stores: Layer.orDie(StoresPostgres({ url })),
      stream: { draftInterval: Duration.millis(50), stopKeepsPartial: true, richMessages: "off" },
      queue
    }))
    const dispatcher = Context.get(bot, Dispatcher)
    const replica: Replica = {
      name,
      address: RunnerAddress.make({ host: settings.runnerHost, port: runnerPort }),
      sharding: Context.get(runner, Sharding),
      submit: (raw) => submitTo(dispatcher, raw),
      inbox: Context.get(bot, Inbox)
    }
    return replica
  })

/** The shard of a private chat's conversation (its key is `chat:<id>`). */
const shardOf = (replica: Replica, chatId: number) => replica.sharding.getShardId(EntityId.make(`chat:${chatId}`), "default")

/** The names of the replicas that hold `shard` now. */
const holders = (replicas: ReadonlyArray<Replica>, shard: ShardId.ShardId) =>
  replicas.filter((r) => r.sharding.hasShardId(shard)).map((r) => r.name)

/** Waits until each shard is held by exactly one of `replicas`. */
const settled = (replicas: ReadonlyArray<Replica>) =>
  eventually(
    Effect.sync(() => shardIds.map((shard) => holders(replicas, shard).length)),
    (counts) => counts.every((n) => n === 1),
    "45 seconds"
  )

/** The shards the cluster gives to each of the runners at `addresses` (the library's hash ring, each of weight 1). */
const assignment = (addresses: ReadonlyArray<RunnerAddress>) => {
  const ring = HashRing.make<RunnerAddress>()
  for (const address of addresses) HashRing.add(ring, address, { weight: 1 })
  return HashRing.getShards(ring, shards) ?? []
}

/** Whether an update's inbox entry is done, with the note it was settled with. */
const settledAs = (replica: Replica, updateId: number) =>
  Effect.map(Effect.orDie(replica.inbox.entry(updateId as TelegramId)), (entry) =>
    Option.map(entry, (e) => [e.status, e.error ?? ""] as const))

/**
 * What the Bot API received for a stopped turn: one final message, the text the last draft
 * showed marked as stopped, and no draft after it (nor after the stop: drafts end with it).
 */
const expectStoppedAnswer = (calls: ReadonlyArray<FakeCall>) => {
  const finals = calls.filter((c) => c.method === "sendMessage")
  expect(finals).toHaveLength(1)
  const lastDraft = String(answerDrafts(calls).at(-1)!.params["text"])
  expect(String(finals[0]!.params["text"])).toBe(`${lastDraft}\n\nStopped.`)
  expect(calls.map((c) => c.method).lastIndexOf("sendMessageDraft")).toBeLessThan(calls.indexOf(finals[0]!))
  expect(lastDraft.split(" ").length).toBeLessThan(storyAnswer.length)
}

/** Dana's question (update `updateId`) through `via`; once its answer shows in drafts, the drafts' id. */
const askForStory = (via: Replica, api: FakeBotApi, model: FakeOpenAi, chatId: number, updateId: number) =>
  Effect.gen(function*() {
    yield* model.script("general", "notes", { chunks: storyAnswer, everyMs: 50 })
    yield* via.submit(textMessage({ updateId, userId: chatId, text: "Tell me everything." }))
    const drafts = yield* answerShown(api)
    return drafts[0]!.params["draft_id"]
  })

/**
 * Presses Stop through `via`: the stop finds the turn (its update settled so), the model's
 * connection is closed, the question's update ends, and the answer is the stopped one.
 */
const pressStop = (via: Replica, api: FakeBotApi, model: FakeOpenAi, chatId: number, question: number, draftId: unknown) =>
  Effect.gen(function*() {
    yield* via.submit(stopUpdate(question + 1, chatId, draftId))
    expect(yield* settledAs(via, question + 1)).toEqual(Option.some(["done", "stopped the running turn"]))
    yield* model.waitForAborted(1)
    yield* eventually(settledAs(via, question), (entry) => Option.isSome(entry) && entry.value[0] === "done", "30 seconds")
    expectStoppedAnswer(yield* api.calls())
  })

/** The fakes and two replicas over them, once the shards are settled between the two. */
const twoReplicas = Effect.gen(function*() {
  const api = yield* makeFakeBotApi()
  const model = yield* makeFakeOpenAi()
  const a = yield* startReplica("a", yield* freePort, api, model)
  const b = yield* startReplica("b", yield* freePort, api, model)
  yield* settled([a, b])
  return { api, model, a, b }
})

describe.skipIf(server._tag !== "Ready")(whenReady(server, "the Stop button in the cluster"), () => {
  it.scopedLive("with the shards settled, a stop through the replica that does not run the turn reaches the one that does", () =>
    Effect.gen(function*() {
      const { a, api, b, model } = yield* twoReplicas
      const chatId = 7201
      const [runs] = holders([a, b], shardOf(a, chatId))
      const other = runs === "a" ? b : a
      const draftId = yield* askForStory(other, api, model, chatId, 72_010)
      yield* pressStop(other, api, model, chatId, 72_010, draftId)
    }), 60_000)

  it.scopedLive("a stop while the conversation's shard moves to a runner that joins reaches the turn on the old owner", () =>
    Effect.gen(function*() {
      const { a, api, b, model } = yield* twoReplicas
      // A chat whose shard goes to the third runner when it joins.
      const portC = yield* freePort
      const toC = assignment([a.address, b.address, RunnerAddress.make({ host: a.address.host, port: portC })])
      const chatId = Array.from({ length: 1000 }, (_, i) => 7300 + i).find((id) => {
        const owner = toC[shardOf(a, id).id - 1]
        return owner !== undefined && owner.port === portC
      })!
      const shard = shardOf(a, chatId)
      const owner = holders([a, b], shard)
      expect(owner).toHaveLength(1)
      const draftId = yield* askForStory(a, api, model, chatId, 73_000)

      // The third runner joins. A replica starting resends the pending updates (the running
      // turn's among them), which wait for the moving shard: its start ends after the turn.
      const joining = yield* Effect.forkScoped(startReplica("c", portC, api, model))
      // The shard moves: its owner has given it up and drains the turn; nobody holds it until the turn ends.
      yield* eventually(Effect.sync(() => holders([a, b], shard)), (held) => held.length === 0, "30 seconds")
      const other = owner[0] === "a" ? b : a
      yield* pressStop(other, api, model, chatId, 73_000, draftId)
      // The turn ended, so the shard is handed over: the runner that joined holds it.
      const c = yield* Fiber.join(joining)
      expect(yield* eventually(Effect.sync(() => holders([a, b, c], shard)), (held) => held.length === 1, "30 seconds"))
        .toEqual(["c"])
    }), 60_000)
})
