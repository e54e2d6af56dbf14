/** Settings of the human handoff: the operators' forum supergroup and what the summary shows. */
import { Config } from "effect"
import { integerIn, Settings } from "../config.ts"

export const HandoffConfigSchema = Config.all({
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
