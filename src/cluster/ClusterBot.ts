/**
 * Cluster mode (`CLUSTER=true`) for the entry points: the chats' queues on the cluster with
 * their housekeeping, the runner they live on, and the long-polling loop as a cluster
 * singleton.
 */
import { Sharding } from "@effect/cluster/Sharding"
import { Effect, Layer, Option } from "effect"
import { ChatQueueCluster } from "./ChatQueueCluster.ts"
import { ClusterConfig } from "./ClusterConfig.ts"
import { ClusterMaintenance } from "./ClusterMaintenance.ts"

/** The cluster's chat queue with its housekeeping cron job; settings from the environment. */
export const ChatQueueClusterLive = Layer.provideMerge(ClusterMaintenance, ChatQueueCluster).pipe(
  Layer.provide(ClusterConfig.fromEnv)
)

export { ClusterRunner, ClusterRunnerLive } from "./ClusterRunner.ts"

/**
 * Runs `loop` once across the cluster when this process is a runner (`Sharding` present): it
 * runs on the replica holding its shard and moves to another when that one stops or dies.
 * Without a cluster it simply runs here. Never returns in cluster mode.
 */
export const runOnce = <E, R>(name: string, loop: Effect.Effect<void, E, R>) =>
  Effect.flatMap(Effect.serviceOption(Sharding), (sharding) =>
    Option.match(sharding, {
      onNone: () => loop,
      onSome: (sharding) =>
        sharding.registerSingleton(
          name,
          loop.pipe(Effect.tapErrorCause((cause) => Effect.logError("the cluster singleton stopped", cause)))
        ).pipe(Effect.zipRight(Effect.never))
    }))
