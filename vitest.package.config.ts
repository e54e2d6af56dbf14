import { defineConfig } from "vitest/config"

/**
 * `npm run test:package`: the project as a team installs it — packed with `npm pack`, the
 * starter (examples/starter/) installed from the tarball, compiled, replayed and tested. The
 * install (the package's ~400 dependencies from the npm cache, native modules built) takes a
 * minute or more, so it runs beside `npm test`, not in it; `.ci/run` runs both.
 */
export default defineConfig({
  test: {
    include: ["test/package/**/*.test.ts"],
    testTimeout: 900_000,
    hookTimeout: 60_000,
    // The bot's production settings are removed from the tests' environment.
    setupFiles: ["test/support/isolatedEnvironment.ts"],
    // The tarball packs the compiled program: dist/ is built once per run.
    globalSetup: ["test/support/buildOnce.ts"],
    pool: "forks"
  }
})
