import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The bot's production settings are removed from the tests' environment.
    setupFiles: ["test/support/isolatedEnvironment.ts"],
    pool: "forks",
    // Two files at a time even on two cores: most of the slow files wait on processes, servers
    // and timers rather than the CPU (the default, cores - 1, runs them one after another).
    maxWorkers: 2,
    minWorkers: 1
  }
})
