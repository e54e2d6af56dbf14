import { defineConfig } from "vitest/config"

/** `npm run test:faults`: the fault, crash, overload and cluster-replica suites with their full numbers. */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts", "test/cluster/replicas.test.ts"],
    env: { FAULTS_FULL: "1" },
    testTimeout: 300_000,
    hookTimeout: 60_000,
    // The bot's production settings are removed from the tests' environment.
    setupFiles: ["test/support/isolatedEnvironment.ts"],
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } }
  }
})
