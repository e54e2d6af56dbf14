/** Settings of the dispatcher: concurrency, deadlines, memory bounds, flood protection and merged turns. */
import { Config, Duration, type Layer, type Option } from "effect"
import { duration, nonNegativeInt, positiveInt, Settings } from "../config.ts"

const OutagePatience = Config.duration("OUTAGE_PATIENCE")

/** `OUTAGE_PATIENCE` when it is set: a command with a patience of its own (`chat`) keeps the one asked for. */
export const outagePatienceSet: Config.Config<Option.Option<Duration.Duration>> = Config.option(OutagePatience)

export const DispatcherConfigSchema = Config.all({
  /** Dialogs running at once across all chats. */
  maxConcurrentDialogs: positiveInt("MAX_CONCURRENT_DIALOGS", 64),
  /** Deadline of one update, from the start of its dialog; then the apology is sent. */
  updateDeadline: duration("UPDATE_DEADLINE", "60 seconds"),
  /**
   * How long a turn waits for a dependency that is down (the store, the model endpoint, the Bot
   * API) before the apology; the update then stays pending and is answered once it is back.
   * 0 waits for none: a call fails as its dependency fails, and the turn ends as it ends.
   */
  outagePatience: OutagePatience.pipe(Config.withDefault(Duration.minutes(2))),
  /** How long shutdown waits for dialogs in flight before interrupting them. */
  shutdownDeadline: duration("SHUTDOWN_DEADLINE", "10 seconds"),
  /**
   * Updates kept decoded in memory while they wait for their turn; beyond this only their ids
   * wait in memory and each payload is read from the inbox when its turn comes.
   */
  maxQueuedInMemory: positiveInt("DISPATCHER_MAX_QUEUED", 1000),
  /** Flood protection: messages a user may send at once (the token bucket's size); 0 turns it off. */
  floodBurst: nonNegativeInt("FLOOD_BURST", 10),
  /** Flood protection: one more message is allowed per this interval (the bucket's refill). */
  floodRefill: duration("FLOOD_REFILL", "1 second"),
  /** Flood protection: a user is told they are too fast at most once per this window. */
  floodNoticeInterval: duration("FLOOD_NOTICE_INTERVAL", "1 minute"),
  /**
   * Quick successive messages: a conversation's first plain text message waits this long for
   * more of the same sender, then they are answered as one turn (`TurnMerge.ts`); 0 turns it off.
   */
  mergeWindow: duration("MERGE_WINDOW", Duration.zero)
})
export type DispatcherConfigShape = Config.Config.Success<typeof DispatcherConfigSchema>

class DispatcherSettings extends Settings<DispatcherConfig>()("dialog-bot/DispatcherConfig", DispatcherConfigSchema) {}

export class DispatcherConfig extends DispatcherSettings {
  /**
   * The defaults with `overrides` on top, flood protection off unless asked for: tests and
   * replays send a user's messages all at once.
   */
  static override readonly make = (overrides: Partial<DispatcherConfigShape> = {}): Layer.Layer<DispatcherConfig> =>
    DispatcherSettings.make({ floodBurst: 0, ...overrides })
}
