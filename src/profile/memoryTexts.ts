/**
 * The texts of the user's memory (`remember` and `forget` tools, `/memory`, `/forget`). Each
 * has a default, so a profile without them still loads.
 */
import { text } from "./textField.ts"

export const memoryTexts = {
  /** `/memory` with facts kept; `{facts}` is replaced by them, one per line. */
  memoryShown: text("What I remember about you:\n{facts}"),
  /** `/memory` with nothing kept. */
  memoryEmpty: text("I don't remember anything about you yet."),
  /** `/forget`; `{count}` is replaced by the number of facts forgotten. */
  memoryForgotten: text("Done: I have forgotten what I remembered about you ({count}).")
}
