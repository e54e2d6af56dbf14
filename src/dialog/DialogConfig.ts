/** Settings of the dialog pipeline: the profile file, history sizes, the tool loop and groups. */
import { Config } from "effect"
import { duration, integerIn, positiveInt, Settings } from "../config.ts"

export const DialogConfigSchema = Config.all({
  /** Path of the bot profile JSON file. */
  profilePath: Config.string("BOT_PROFILE").pipe(Config.withDefault("profiles/shop/profile.json")),
  /** How many past messages of the chat the pipeline gives the model. */
  historyLimit: positiveInt("HISTORY_LIMIT", 12),
  /** Maximum model calls in the think step's tool loop. */
  toolMaxSteps: positiveInt("TOOL_MAX_STEPS", 4),
  /** How many tool calls of one step run at once. */
  toolConcurrency: positiveInt("TOOL_CONCURRENCY", 4),
  /** Characters of history given to the model at most (the newest messages are kept). */
  historyCharBudget: positiveInt("HISTORY_CHAR_BUDGET", 8000),
  /**
   * Which group messages are answered: `addressed` (a mention of the bot, a reply to it, a
   * command addressed to it; the others are kept as context) or `all`.
   */
  groupMode: Config.literal("addressed", "all")("GROUP_MODE").pipe(Config.withDefault("addressed" as const)),
  /** How long the bot keeps quiet in a business chat after the owner wrote there; 0 never pauses. */
  ownerTakeoverPause: duration("OWNER_TAKEOVER_PAUSE", "1 hour"),
  /** The bot's reaction on a user's message when its turn starts (an emoji, e.g. 👀); none: no reaction. */
  reactOnReceipt: Config.option(Config.string("REACT_ON_RECEIPT")),
  /** The reaction that replaces it once the answer is sent (e.g. 👌); none: the receipt reaction is taken away. */
  reactOnAnswer: Config.option(Config.string("REACT_ON_ANSWER")),
  /** How long a guest message waits for its answer before a placeholder goes first (the answer then replaces it). */
  guestReplyWindow: duration("GUEST_REPLY_WINDOW", "5 seconds"),
  /** Inline queries of a user closer than this are a burst of typing: only the last one is answered. */
  inlineDebounce: duration("INLINE_DEBOUNCE", "600 millis"),
  /** Seconds Telegram may keep an inline answer for the same query text (`cache_time`). */
  inlineCacheTime: integerIn("INLINE_CACHE_TIME", 30, 0, 86400)
})
export type DialogConfigShape = Config.Config.Success<typeof DialogConfigSchema>

export class DialogConfig extends Settings<DialogConfig>()("dialog-bot/DialogConfig", DialogConfigSchema) {}
