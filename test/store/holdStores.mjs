/**
 * A process that opens the stores `STORE` names (shared with `CLUSTER=true`), as the bot does at start, prints `holding`
 * and keeps them until it is stopped. A start refused (or failed) prints the StoreError's
 * message on stderr and exits with 1. Used by `singleInstance.test.ts`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect } from "effect"
import { liveStores } from "../../src/cli/liveBot.ts"

Effect.zipRight(Console.log("holding"), Effect.never).pipe(
  Effect.provide(liveStores),
  Effect.tapError((error) => Console.error(error._tag === "StoreError" ? error.message : String(error))),
  NodeRuntime.runMain({ disableErrorReporting: true })
)
