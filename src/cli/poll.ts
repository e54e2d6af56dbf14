/**
 * What `poll` runs (src/cli/pollCommand.ts), imported when it runs: long polling against the
 * Bot API until interrupted; also what `npm start` runs with a token and without `WEBHOOK_URL`.
 */
import { sayToOperator } from "../runtime/Logging.ts"
import { Effect, Option } from "effect"
import { pollerSingleton } from "../cluster/ClusterConfig.ts"
import { type PollerOptions, runPoller } from "../telegram/Poller.ts"
import { PollConfig } from "../telegram/TelegramConfig.ts"
import { drainOnClose } from "../telegram/WebhookServer.ts"
import { announceBot, announceLiveModel, reportStop, runLive, runOnce } from "./liveBot.ts"
import type { Recording } from "./liveCommand.ts"

/** Long polling until interrupted. */
export const runPolling = (options: PollerOptions, recording: Recording = Option.none()) =>
  runLive(PollConfig.fromEnv, recording, Effect.gen(function*() {
    yield* announceLiveModel
    yield* announceBot
    yield* reportStop(drainOnClose)
    yield* sayToOperator("polling for updates; Ctrl-C stops intake, lets the dialogs in flight finish, and exits")
    // With CLUSTER=true one replica polls at a time; another takes over when it stops or dies.
    yield* runOnce(pollerSingleton, runPoller(options))
  }))
