/** Settings of sending: Bot API retries, the optional throttle, typing and delivery records. */
import { Config } from "effect"
import { duration, nonNegativeInt, Settings } from "../config.ts"

export const SendConfigSchema = Config.all({
  /** Longest wait honoured from a 429's retry_after; a longer one fails the send. */
  retryAfterCap: duration("TELEGRAM_RETRY_AFTER_CAP", "30 seconds"),
  /** Retries of one send after 429, 5xx or a connection error. */
  maxRetries: Config.integer("TELEGRAM_MAX_RETRIES").pipe(Config.withDefault(5)),
  /** First backoff delay after a 5xx or a connection error (doubles, with jitter). */
  backoffBase: duration("TELEGRAM_BACKOFF_BASE", "500 millis"),
  /** Proactive outgoing throttle (30 msg/s overall, ~1 msg/s per chat); off by default. */
  throttle: Config.boolean("TELEGRAM_THROTTLE").pipe(Config.withDefault(false)),
  /**
   * How long a dialog runs before `typing` is shown: an answer sooner needs none (the Bot API
   * recommends the action only "when a response from the bot will take a noticeable amount of
   * time to arrive"), and one request per quick answer is saved. 0 shows it at once.
   */
  typingDelay: duration("TELEGRAM_TYPING_DELAY", "1 second"),
  /** How often the `typing` action is refreshed while a dialog runs. */
  typingInterval: duration("TELEGRAM_TYPING_INTERVAL", "4500 millis"),
  /**
   * A global cap on the dialog messages in doubt at once (from the request to Telegram until
   * the inbox records the message as delivered); 0, the default, sets none. Each chat has at
   * most one message in doubt whatever this says (its messages go out one after another, each
   * recorded before the next), so a crash re-sends at most one message per chat that had a
   * send on its way. A cap bounds that across chats too, at a price: each in-doubt send holds
   * its slot for one Bot API round trip and one store write, so messages per second stay below
   * the cap / (round trip + write).
   */
  sendsInDoubt: nonNegativeInt("TELEGRAM_SENDS_IN_DOUBT", 0)
})
export type SendConfigShape = Config.Config.Success<typeof SendConfigSchema>

export class SendConfig extends Settings<SendConfig>()("dialog-bot/SendConfig", SendConfigSchema) {}
