import { defineConfig } from "vitest/config"

/** The package's own entries (`effect-telegram-dialog-bot/testing`…) are its sources in the tests, as in tsconfig.json's `paths`. */
const self = (entry: string) => new URL(`./src/${entry}/index.ts`, import.meta.url).pathname

/**
 * The files that run in a process of their own: those that start the bot or other processes of
 * this repository (the process, crash, fault and cluster suites), and those that use
 * `@effect/vitest`'s `layer` (it replaces `it.effect` on vitest's `it`, which files sharing a
 * worker share: later files would run in its runtime, without the TestClock).
 */
const ownProcess = [
  "test/process/**/*.test.ts",
  "test/crash/**/*.test.ts",
  "test/faults/**/*.test.ts",
  "test/cluster/{ChatQueueCluster,pollReplicas,replicas,stop,stopLine}.test.ts",
  "test/store/singleInstance.test.ts",
  "test/telegram/process.test.ts",
  "test/tools/mcpProcess.test.ts"
]

/** The packed project and its installed starter: `npm run test:package` (vitest.package.config.ts). */
const exclude = ["test/package/**", "**/node_modules/**"]

export default defineConfig({
  resolve: {
    alias: [
      { find: /^effect-telegram-dialog-bot$/, replacement: new URL("./src/index.ts", import.meta.url).pathname },
      { find: /^effect-telegram-dialog-bot\/(testing|cli)$/, replacement: self("$1") }
    ]
  },
  test: {
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // The bot's production settings are removed from the tests' environment (before every file,
    // in either project).
    setupFiles: ["test/support/isolatedEnvironment.ts"],
    // The process tests run the compiled bin: dist/ is built once per run, before any test.
    globalSetup: ["test/support/buildOnce.ts"],
    // Two projects, run at the same time. Vitest isolates per pool, not per project: the shared
    // files use the threads pool, the others the forks pool.
    poolOptions: {
      // The in-process files share one worker thread and its modules (effect and the sources are
      // loaded once, not once per file), one file after another: a file must leave no state
      // behind that another file sees (process.env, module-level singletons, vitest's `it`).
      // One thread: they take less time than the other project even so, and a second would take
      // the CPU from the process suites.
      threads: { isolate: false, maxThreads: 1, minThreads: 1 },
      // One process per file, two files at a time even on two cores: most of these files wait on
      // processes, servers and timers rather than the CPU.
      forks: { isolate: true, maxForks: 2, minForks: 1 }
    },
    projects: [
      {
        extends: true,
        test: {
          name: "shared",
          include: ["test/**/*.test.ts", "examples/**/*.test.ts"],
          exclude: [...exclude, ...ownProcess],
          pool: "threads",
          isolate: false
        }
      },
      {
        extends: true,
        test: {
          name: "own-process",
          include: ownProcess,
          exclude,
          pool: "forks"
        }
      }
    ]
  }
})
