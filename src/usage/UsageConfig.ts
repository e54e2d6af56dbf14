/**
 * Settings of the usage budgets: free tokens per user per UTC day and per UTC month (0: no
 * limit), the users no budget applies to (besides the members of `ADMIN_CHAT_ID`), and the
 * users the bot talks to at all (`ALLOWED_USERS`; unset: everyone).
 */
import { Config, Option } from "effect"
import { nonNegativeInt, Settings } from "../config.ts"

/** A comma-separated list of Telegram user ids. */
const userIds = (name: string): Config.Config<ReadonlyArray<number>> =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((text) => text.split(",").map((part) => part.trim()).filter((part) => part !== "").map(Number)),
    Config.validate({
      message: `${name} must be Telegram user ids separated by commas`,
      validation: (ids) => ids.every((n) => Number.isSafeInteger(n))
    })
  )

export const UsageConfigSchema = Config.all({
  /** Free tokens (prompt + completion) per user per UTC day; 0 is no limit. */
  tokensPerDay: nonNegativeInt("BUDGET_TOKENS_PER_DAY", 0),
  /** Free tokens per user per UTC month; 0 is no limit. */
  tokensPerMonth: nonNegativeInt("BUDGET_TOKENS_PER_MONTH", 0),
  /** Users without a budget. */
  exemptUsers: userIds("BUDGET_EXEMPT_USERS"),
  /** The only users whose messages reach the model (with the members of `ADMIN_CHAT_ID`); none: everyone. */
  allowedUsers: userIds("ALLOWED_USERS").pipe(Config.map(Option.liftPredicate((ids) => ids.length > 0)))
})
export type UsageConfigShape = Config.Config.Success<typeof UsageConfigSchema>

export class UsageConfig extends Settings<UsageConfig>()("dialog-bot/UsageConfig", UsageConfigSchema) {}
