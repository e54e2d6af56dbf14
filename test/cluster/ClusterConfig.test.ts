/**
 * Cluster mode's settings: defaults fit for a busy two-core machine, entity termination
 * within the shutdown deadline, the sharding settings taken from them (never from the
 * cluster library's own environment variables), and `CLUSTER=true` refused without
 * `STORE=postgres`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigError, ConfigProvider, Duration, Effect, Exit, Layer, Option } from "effect"
import { ClusterConfig, terminationTimeout } from "../../src/cluster/ClusterConfig.ts"
import { ClusterRunnerLive, shardingSettings } from "../../src/cluster/ClusterRunner.ts"

const withEnv = (env: Record<string, string>) => Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))

describe("cluster settings", () => {
  it.effect("default to a 3 s lock refresh, a 15 s expiry, a 2 s health check and termination after SHUTDOWN_DEADLINE", () =>
    Effect.gen(function*() {
      const config = yield* ClusterConfig.config.pipe(withEnv({}))
      expect(config.runnerHost).toBe("127.0.0.1")
      expect(Duration.toMillis(config.lockRefresh)).toBe(3_000)
      expect(Duration.toMillis(config.lockExpiry)).toBe(15_000)
      expect(Duration.toMillis(config.healthCheck)).toBe(2_000)
      expect(Duration.toMillis(config.retention)).toBe(24 * 3_600_000)
      expect(Duration.toMillis(terminationTimeout(config, Duration.seconds(10)))).toBe(10_000)

      const settings = shardingSettings({ config: { ...config, runnerPort: 4100 }, shutdownDeadline: Duration.seconds(10) })
      expect(Option.map(settings.runnerAddress, (a) => `${a.host}:${a.port}`)).toEqual(Option.some("127.0.0.1:4100"))
      expect(settings.shardLockRefreshInterval).toBe(config.lockRefresh)
      expect(settings.shardLockExpiration).toBe(config.lockExpiry)
      expect(settings.runnerHealthCheckInterval).toBe(config.healthCheck)
      expect(Duration.toMillis(Duration.decode(settings.entityTerminationTimeout))).toBe(10_000)
    }))

  it.effect("take the environment's values; CLUSTER_TERMINATION_TIMEOUT replaces the derived one", () =>
    Effect.gen(function*() {
      const config = yield* ClusterConfig.config.pipe(withEnv({
        RUNNER_HOST: "10.0.0.11",
        RUNNER_PORT: "35000",
        CLUSTER_LOCK_EXPIRY: "30 seconds",
        CLUSTER_TERMINATION_TIMEOUT: "2 minutes"
      }))
      expect(config.runnerHost).toBe("10.0.0.11")
      expect(config.runnerPort).toBe(35000)
      expect(Duration.toMillis(config.lockExpiry)).toBe(30_000)
      expect(Duration.toMillis(terminationTimeout(config, Duration.seconds(10)))).toBe(120_000)
    }))

  it.effect("refuse a RUNNER_PORT outside 1–65535", () =>
    Effect.gen(function*() {
      for (const port of ["70000", "0"]) {
        const error = yield* Effect.flip(ClusterConfig.config.pipe(withEnv({ RUNNER_PORT: port })))
        expect(ConfigError.isInvalidData(error)).toBe(true)
        expect(String(error)).toContain("RUNNER_PORT must be an integer from 1 to 65535")
      }
    }))

  it.effect("CLUSTER=true without STORE=postgres stops at start with a line that says so", () =>
    Effect.gen(function*() {
      const exit = yield* Effect.exit(Layer.build(ClusterRunnerLive).pipe(Effect.scoped, withEnv({ STORE: "sqlite", CLUSTER: "true" })))
      const failure = Exit.isFailure(exit) ? Cause.failureOption(exit.cause) : Option.none()
      expect(Option.map(failure, (e) => e._tag)).toEqual(Option.some("ConfigurationError"))
      expect(Option.map(failure, (e) => e.message.startsWith("CLUSTER=true needs STORE=postgres"))).toEqual(Option.some(true))
    }))
})
