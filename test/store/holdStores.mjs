/**
 * A process that opens the stores `STORE` names (shared with `CLUSTER=true`), as the bot does at start, prints `holding`
 * and keeps them until it is stopped. A start refused (or failed) prints the StoreError's
 * message on stderr and exits with 1. Used by `singleInstance.test.ts`.
 *
 * Plain JavaScript on the compiled dist/ (built once per test run by test/support/buildOnce.ts),
 * as the process tests start the bot: a start takes about half the time it takes through tsx
 * on the sources.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { liveStores } from "../../dist/cli/liveBot.js"

Effect.zipRight(Console.log("holding"), Effect.never).pipe(
  Effect.provide(liveStores),
  Effect.tapError((error) => Console.error(error._tag === "StoreError" ? error.message : String(error))),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
