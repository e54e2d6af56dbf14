import { defineConfig } from "vitest/config"

/** `npm run test:faults`: the fault, crash, overload and cluster-replica suites with their full numbers. */
export default defineConfig({
  test: {
    include: ["test/faults/**/*.test.ts", "test/cluster/replicas.test.ts"],
    // FAULT_SUITE: the bounds on real time and memory are asserted. FAULTS_FULL: the full numbers
    // (FAULTS_FULL=0 in the environment runs the suite scaled down, bounds included).
    env: { FAULT_SUITE: "1", FAULTS_FULL: process.env["FAULTS_FULL"] ?? "1" },
    testTimeout: 300_000,
    hookTimeout: 60_000,
    // The bot's production settings are removed from the tests' environment.
    setupFiles: ["test/support/isolatedEnvironment.ts"],
    // The crash and replica suites run the compiled bin: dist/ is built once per run.
    globalSetup: ["test/support/buildOnce.ts"],
    pool: "forks",
    poolOptions: { forks: { execArgv: ["--expose-gc"] } }
  }
})
