/**
 * What `replay` runs (src/cli/replayCommand.ts), imported when it runs: recorded updates
 * through the whole bot, and with `--expect` the check of the replies against a transcript.
 */
import { Effect, Option } from "effect"
import { parseClock, withFixedClock } from "../replay/FixedClock.ts"
import { replayBot } from "../replay/OfflineBot.ts"
import type { ExpectMode } from "../replay/Transcript.ts"
import { StoreKind } from "../store/StoreConfig.ts"
import { replayReported } from "./offlineBot.ts"

export interface ReplayCommandOptions {
  readonly file: string
  readonly out: Option.Option<string>
  readonly concurrency: Option.Option<number>
  readonly expect: Option.Option<string>
  readonly expectMode: ExpectMode
  /** ISO 8601 instant the clock is fixed at during the replay. */
  readonly clock: Option.Option<string>
}

/**
 * The replay as the command runs it: the bot on embedded layers (`replayBot`, memory stores
 * whatever `STORE` says; `STORE` is still checked, so a typo is not silently ignored), the
 * clock fixed when asked.
 */
export const runReplayCommand = (options: ReplayCommandOptions) =>
  Effect.gen(function*() {
    yield* StoreKind
    const clock = Option.isSome(options.clock) ? Option.some(yield* parseClock(options.clock.value)) : Option.none()
    const run = replayReported({
      file: options.file,
      out: options.out,
      expect: options.expect,
      expectMode: options.expectMode
    }).pipe(Effect.provide(replayBot(options.concurrency)))
    return yield* Option.match(clock, { onNone: () => run, onSome: (millis) => withFixedClock(millis)(run) })
  })

/** How a replay command ended: the exit code, and what to print on stderr about a failure. */
export interface ReplayOutcome {
  readonly exitCode: 0 | 1
  readonly report: Option.Option<string>
}

const failed = (report: string): ReplayOutcome => ({ exitCode: 1, report: Option.some(report) })

/**
 * The replay with the failures of its check turned into an outcome: a difference from the
 * stored transcript or a broken transcript file (one line per problem) ends in exit code 1 and a
 * readable report, never a stack trace. A broken profile or setting is reported as by every
 * command (src/cli/Failure.ts, exit code 2).
 */
export const replayOutcome = (options: ReplayCommandOptions) =>
  runReplayCommand(options).pipe(
    Effect.as<ReplayOutcome>({ exitCode: 0, report: Option.none() }),
    Effect.catchTags({
      ReplayMismatch: (mismatch) => Effect.succeed(failed(mismatch.report)),
      TranscriptFileError: (error) =>
        Effect.succeed(failed(error.message.split("\n").map((line) => `replay --expect: ${line}`).join("\n")))
    })
  )
