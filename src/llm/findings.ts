/**
 * How the think step's findings and tool results read to a model. The pipeline writes the
 * findings message under these headings and the offline model reads its notes back from it;
 * a tool result is capped the same way in the findings and in the live model's tool messages.
 * Nothing here calls a service.
 */

/** Heading of the message that hands the think step's findings to synthesis. */
export const notesHeading = "Notes from the thinking step (not visible to the customer):"
/** Heading of the tool results in the findings message, after the notes. */
export const toolResultsHeading = "Tool results:"

/** Characters of one tool result given to the model at most, by default. */
export const toolResultCharCap = 4000

/** A tool result no longer than `max` characters; a cut one says how much was left out. */
export const capToolResult = (content: string, max: number = toolResultCharCap): string => {
  if (content.length <= max) return content
  const note = ` …[${content.length - max} more characters cut]`
  return `${content.slice(0, Math.max(0, max - note.length))}${note}`
}
