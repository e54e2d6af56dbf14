/**
 * The texts of a human handoff (`HANDOFF_CHAT_ID`, src/handoff/): what the customer is told
 * when a colleague takes the chat over and gives it back, and what operators see in the
 * customer's topic. Each has a default, so a profile without them still loads.
 */
import { text } from "./textField.ts"

export const handoffTexts = {
  /** To the customer when a colleague's topic is open (`/human`): the colleague answers in this chat. */
  handoffStarted: text("I've passed our conversation to a colleague: they will answer you here shortly."),
  /** To the customer after `/human` when no topic could be opened: the request was passed on. */
  handoffRequested: text("I've asked a colleague to get in touch with you."),
  /** To the customer when the colleague gives the chat back to the bot. */
  handoffEnded: text("Our colleague has handed the conversation back to me. How else can I help?"),
  /** The name of the customer's topic in the handoff chat (at most 128 characters); `{name}`, `{id}` are replaced. */
  handoffTopic: text("{name} · {id}"),
  /**
   * The first message of the customer's topic; `{name}`, `{username}`, `{id}`, `{reason}`,
   * `{stage}` and `{history}` (the last messages, one a line) are replaced.
   */
  handoffSummary: text(
    "Customer: {name} {username}(id {id})\nReason: {reason}\nStage: {stage}\n\nLast messages:\n{history}\n\n" +
      "What you write in this topic goes to the customer. /done or the button below gives the chat back to the bot."
  ),
  /** The inline button under the summary that gives the chat back to the bot. */
  handoffBack: text("Back to bot"),
  /** A note in the topic when an operator's message did not reach the customer; `{reason}` is replaced. */
  handoffNotDelivered: text("Not delivered to the customer: {reason}")
}
