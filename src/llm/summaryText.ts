/**
 * How a request for a conversation's running summary reads to a model (`src/dialog/Compaction.ts`
 * writes it) and the plain extractive summary the models without a network give for it: the
 * offline model, and the scripted one when a test scripted no summary. The request is one user
 * message with two parts under these headings: the summary so far, then the messages to fold in,
 * one a line (`User: …`, `Assistant: …`, a group member's name for theirs). Nothing here calls a
 * service.
 */
import type { ChatMessage } from "./LanguageModel.ts"

/** Heading of the summary so far in a summary request. */
export const previousSummaryHeading = "Summary so far:"
/** Heading of the messages to fold in, after the summary so far. */
export const foldedMessagesHeading = "Messages to fold in:"
/** What stands under `previousSummaryHeading` when there is no summary yet. */
export const noSummary = "(none)"

/** Characters of one message kept by the extractive summary: about a sentence. */
const lineChars = 160
/**
 * Characters of an extractive summary at most (about 500 tokens): the oldest lines go first, so
 * a long conversation keeps its recent past and the prompt stays bounded.
 */
export const extractiveSummaryChars = 2000

/** The first sentence of a text on one line, cut to `lineChars`. */
const gist = (text: string): string => {
  const flat = text.replace(/\s+/g, " ").trim()
  const sentence = /^.*?[.!?…](?=\s|$)/u.exec(flat)?.[0] ?? flat
  return sentence.length > lineChars ? `${sentence.slice(0, lineChars - 1)}…` : sentence
}

/** The lines under a heading of `text`, up to the next heading. */
const section = (text: string, heading: string, next?: string): ReadonlyArray<string> => {
  const start = text.indexOf(heading)
  if (start === -1) return []
  const from = start + heading.length
  const end = next === undefined ? -1 : text.indexOf(next, from)
  return text.slice(from, end === -1 ? undefined : end).split("\n").map((line) => line.trim()).filter((line) => line !== "")
}

/**
 * The extractive summary of a summary request: the lines of the summary so far, then the gist
 * (first sentence) of each message folded in, as `Speaker: gist`; the oldest lines are dropped
 * past `extractiveSummaryChars`.
 */
export const extractiveSummary = (messages: ReadonlyArray<ChatMessage>): string => {
  const request = messages.filter((m) => m.role === "user").map((m) => m.content).join("\n")
  const previous = section(request, previousSummaryHeading, foldedMessagesHeading).filter((line) => line !== noSummary)
  const folded = section(request, foldedMessagesHeading).map((line) => {
    const colon = line.indexOf(": ")
    return colon === -1 ? gist(line) : `${line.slice(0, colon)}: ${gist(line.slice(colon + 2))}`
  })
  const lines = [...previous, ...folded]
  let total = lines.reduce((n, line) => n + line.length + 1, 0)
  while (lines.length > 1 && total > extractiveSummaryChars) total -= lines.shift()!.length + 1
  return lines.join("\n")
}
