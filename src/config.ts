/**
 * Every setting of the bot, read with effect's `Config` from the environment. Secrets are
 * `Redacted`: they print as `<redacted>` in logs and errors.
 */
import { Config, Context, Duration, Effect, Layer, Option } from "effect"

const duration = (name: string, fallback: Duration.DurationInput) =>
  Config.duration(name).pipe(Config.withDefault(Duration.decode(fallback)))

const positiveInt = (name: string, fallback: number) =>
  Config.integer(name).pipe(
    Config.withDefault(fallback),
    Config.validate({ message: `${name} must be a positive integer`, validation: (n) => n > 0 })
  )

export const DialogConfigSchema = Config.all({
  /** Path of the bot profile JSON file. */
  profilePath: Config.string("BOT_PROFILE").pipe(Config.withDefault("profiles/shop/profile.json")),
  /** How many past messages of the chat the pipeline gives the model. */
  historyLimit: positiveInt("HISTORY_LIMIT", 12),
  /** Maximum model calls in the think step's tool loop. */
  toolMaxSteps: positiveInt("TOOL_MAX_STEPS", 4),
  /** How many tool calls of one step run at once. */
  toolConcurrency: positiveInt("TOOL_CONCURRENCY", 4),
  /** Deadline of one tool call. */
  toolTimeout: duration("TOOL_TIMEOUT", "10 seconds"),
  /** Characters of history given to the model at most (the newest messages are kept). */
  historyCharBudget: positiveInt("HISTORY_CHAR_BUDGET", 8000),
  /** Chat that receives handoff requests, if any. */
  adminChatId: Config.option(Config.number("ADMIN_CHAT_ID"))
})
export type DialogConfigShape = Config.Config.Success<typeof DialogConfigSchema>

export const DispatcherConfigSchema = Config.all({
  /** Dialogs running at once across all chats. */
  maxConcurrentDialogs: positiveInt("MAX_CONCURRENT_DIALOGS", 64),
  /** Deadline of one update, from the start of its dialog; then the apology is sent. */
  updateDeadline: duration("UPDATE_DEADLINE", "60 seconds"),
  /** How long shutdown waits for dialogs in flight before interrupting them. */
  shutdownDeadline: duration("SHUTDOWN_DEADLINE", "10 seconds"),
  /**
   * Updates kept decoded in memory while they wait for their turn; beyond this only their ids
   * wait in memory and each payload is read from the inbox when its turn comes.
   */
  maxQueuedInMemory: positiveInt("DISPATCHER_MAX_QUEUED", 1000),
  /** Flood protection: messages a user may send at once (the token bucket's size); 0 turns it off. */
  floodBurst: Config.integer("FLOOD_BURST").pipe(
    Config.withDefault(10),
    Config.validate({ message: "FLOOD_BURST must be 0 (off) or more", validation: (n) => n >= 0 })
  ),
  /** Flood protection: one more message is allowed per this interval (the bucket's refill). */
  floodRefill: duration("FLOOD_REFILL", "1 second"),
  /** Flood protection: a user is told they are too fast at most once per this window. */
  floodNoticeInterval: duration("FLOOD_NOTICE_INTERVAL", "1 minute")
})
export type DispatcherConfigShape = Config.Config.Success<typeof DispatcherConfigSchema>

export class DialogConfig extends Context.Tag("DialogConfig")<DialogConfig, DialogConfigShape>() {
  static readonly fromEnv = Layer.effect(DialogConfig, DialogConfigSchema)
  /** Defaults with the given overrides (tests). */
  static readonly make = (overrides: Partial<DialogConfigShape> = {}) =>
    Layer.succeed(DialogConfig, {
      profilePath: "profiles/shop/profile.json",
      historyLimit: 12,
      toolMaxSteps: 4,
      toolConcurrency: 4,
      toolTimeout: Duration.seconds(10),
      historyCharBudget: 8000,
      adminChatId: Option.none(),
      ...overrides
    })
}

export class DispatcherConfig extends Context.Tag("DispatcherConfig")<DispatcherConfig, DispatcherConfigShape>() {
  static readonly fromEnv = Layer.effect(DispatcherConfig, DispatcherConfigSchema)
  static readonly make = (overrides: Partial<DispatcherConfigShape> = {}) =>
    Layer.succeed(DispatcherConfig, {
      maxConcurrentDialogs: 64,
      updateDeadline: Duration.seconds(60),
      shutdownDeadline: Duration.seconds(10),
      maxQueuedInMemory: 1000,
      // Off unless a test asks for it: tests and replays send a user's messages all at once.
      floodBurst: 0,
      floodRefill: Duration.seconds(1),
      floodNoticeInterval: Duration.minutes(1),
      ...overrides
    })
}

/** Reads a config value now (used by the CLI to pick layers). */
export const readConfig = <A>(config: Config.Config<A>) => Effect.orDie(config)

export const SendConfigSchema = Config.all({
  /** Longest wait honoured from a 429's retry_after; a longer one fails the send. */
  retryAfterCap: duration("TELEGRAM_RETRY_AFTER_CAP", "30 seconds"),
  /** Retries of one send after 429, 5xx or a connection error. */
  maxRetries: Config.integer("TELEGRAM_MAX_RETRIES").pipe(Config.withDefault(5)),
  /** First backoff delay after a 5xx or a connection error (doubles, with jitter). */
  backoffBase: duration("TELEGRAM_BACKOFF_BASE", "500 millis"),
  /** Proactive outgoing throttle (30 msg/s overall, ~1 msg/s per chat); off by default. */
  throttle: Config.boolean("TELEGRAM_THROTTLE").pipe(Config.withDefault(false)),
  /** How often the `typing` action is refreshed while a dialog runs. */
  typingInterval: duration("TELEGRAM_TYPING_INTERVAL", "4500 millis"),
  /**
   * Sends of dialog messages that may be in doubt at once: from the request to Telegram until
   * the inbox records the message as delivered. A crash re-sends at most this many messages
   * Telegram already had; each in-doubt send holds its slot for one Bot API round trip and
   * one store write, so messages per second stay below this / (round trip + write).
   */
  sendsInDoubt: positiveInt("TELEGRAM_SENDS_IN_DOUBT", 1)
})
export type SendConfigShape = Config.Config.Success<typeof SendConfigSchema>

export class SendConfig extends Context.Tag("SendConfig")<SendConfig, SendConfigShape>() {
  static readonly fromEnv = Layer.effect(SendConfig, SendConfigSchema)
  static readonly make = (overrides: Partial<SendConfigShape> = {}) =>
    Layer.succeed(SendConfig, {
      retryAfterCap: Duration.seconds(30),
      maxRetries: 5,
      backoffBase: Duration.millis(500),
      throttle: false,
      typingInterval: Duration.millis(4500),
      sendsInDoubt: 1,
      ...overrides
    })
}

