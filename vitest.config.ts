import { defineConfig } from "vitest/config"

/** The package's own entries (`effect-telegram-dialog-bot/testing`…) are its sources in the tests, as in tsconfig.json's `paths`. */
const self = (entry: string) => new URL(`./src/${entry}/index.ts`, import.meta.url).pathname

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-telegram-dialog-bot$/, replacement: new URL("./src/index.ts", import.meta.url).pathname },
      { find: /^effect-telegram-dialog-bot\/(testing|cli)$/, replacement: self("$1") }
    ]
  },
  test: {
    include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
    // The packed project and its installed starter: `npm run test:package` (vitest.package.config.ts).
    exclude: ["test/package/**", "**/node_modules/**"],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The bot's production settings are removed from the tests' environment.
    setupFiles: ["test/support/isolatedEnvironment.ts"],
    // The process tests run the compiled bin: dist/ is built once per run, before any test.
    globalSetup: ["test/support/buildOnce.ts"],
    pool: "forks",
    // Two files at a time even on two cores: most of the slow files wait on processes, servers
    // and timers rather than the CPU (the default, cores - 1, runs them one after another).
    maxWorkers: 2,
    minWorkers: 1
  }
})
