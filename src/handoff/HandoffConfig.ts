/**
 * Settings of the human handoff: where handoff requests go (the operators' forum supergroup, the
 * admin chat) and what the summary shows.
 */
import { Config } from "effect"
import { integerIn, Settings } from "../config.ts"

export const HandoffConfigSchema = Config.all({
  /** Chat that receives handoff requests, if any. */
  adminChatId: Config.option(Config.number("ADMIN_CHAT_ID")),
  /**
   * The forum supergroup where operators take chats over (the bot an admin allowed to manage
   * topics): a handoff opens a topic per customer there. Without it a handoff is a notice to
   * `ADMIN_CHAT_ID` only.
   */
  handoffChatId: Config.option(Config.number("HANDOFF_CHAT_ID")),
  /** How many of the customer's last messages the first message of the topic shows. */
  summaryMessages: integerIn("HANDOFF_SUMMARY_MESSAGES", 6, 0, 50)
})
export type HandoffConfigShape = Config.Config.Success<typeof HandoffConfigSchema>

export class HandoffConfig extends Settings<HandoffConfig>()("dialog-bot/HandoffConfig", HandoffConfigSchema) {}
