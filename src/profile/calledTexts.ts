/**
 * The texts of turns a user starts from another chat (guest mode and inline mode,
 * src/dialog/GuestTurns.ts and InlineQueries.ts): the placeholder a slow answer replaces and
 * what the inline results show. Each has a default, so a profile without them still loads.
 */
import { text } from "./textField.ts"

export const calledTexts = {
  /** Posted in the guest chat when the answer takes longer than `GUEST_REPLY_WINDOW`; the answer replaces it. */
  guestPlaceholder: text("One moment, I'm looking into it…"),
  /** The title of the inline result; `{query}` is replaced by what the user typed. */
  inlineTitle: text("Ask: {query}"),
  /** The line under the title of the inline result. */
  inlineDescription: text("Send it, and the answer replaces the question in a few seconds."),
  /** The message the inline result sends, until the answer replaces it; `{query}` as in `inlineTitle`. */
  inlineAsking: text("❓ {query}\n\nAsking…"),
  /** The button under that message that starts another inline question in the same chat. */
  inlineAskAgain: text("Ask another question"),
  /** The button shown instead of results for an empty inline query: it opens the private chat. */
  inlineHelp: text("Type a question after my name, or open a chat with me")
}
