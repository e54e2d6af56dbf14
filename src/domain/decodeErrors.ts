/**
 * Decode errors as a person reads them. effect's tree formatter describes the whole schema
 * (tens of kilobytes for an `Update`); a log line or a replay report needs only the first few
 * places that were wrong and what was expected there: `update_id: expected a number`. The
 * values found are left out, so that no message text reaches a log line.
 */
import { ParseResult } from "effect"

export interface SummaryOptions {
  /** Issues listed at most (default 3). */
  readonly maxIssues?: number
  /** Characters at most (default 300). */
  readonly maxLength?: number
}

const pathText = (path: ReadonlyArray<PropertyKey>): string =>
  path.length === 0
    ? "(root)"
    : path.map((key, i) => typeof key === "number" ? `[${key}]` : `${i === 0 ? "" : "."}${String(key)}`).join("")

const article = (type: string): string => /^[aeiou]/i.test(type) ? `an ${type}` : `a ${type}`

/** What a schema expected, in a few words: `a number`, `an object`, `one of "a", "b"`. */
const expectedText = (type: string): string => {
  const plain = type.replace(/^readonly /, "")
  if (/^(number|string|boolean|bigint|symbol|object)$/.test(plain)) return article(plain)
  if (plain.startsWith("{ number | filter }")) return "a number"
  if (plain.startsWith("{") || plain.startsWith("Record<")) return "an object"
  if (plain.startsWith("ReadonlyArray<") || plain.startsWith("[")) return "an array"
  if (plain.startsWith("{ string | filter }")) return "a string"
  return plain.length > 60 ? `${plain.slice(0, 60)}…` : plain
}

const issueText = (issue: ParseResult.ArrayFormatterIssue): string => {
  const where = pathText(issue.path)
  if (issue._tag === "Missing") return `${where}: missing`
  if (issue._tag === "Unexpected") return `${where}: not allowed`
  const expected = /^Expected ([\s\S]*?), actual [\s\S]*$/.exec(issue.message)
  if (expected !== null) return `${where}: expected ${expectedText(expected[1] ?? "")}`
  const message = issue.message.split("\n")[0] ?? ""
  return `${where}: ${message.length > 80 ? `${message.slice(0, 80)}…` : message}`
}

/** An optional member that was present: effect also reports "expected undefined" there, which says nothing. */
const isNoise = (issue: ParseResult.ArrayFormatterIssue): boolean => /^Expected undefined, actual/.test(issue.message)

/** The first few issues of a decode error, `path: what was expected`, joined by `; ` and capped. */
export const summarizeParseError = (error: ParseResult.ParseError, options: SummaryOptions = {}): string => {
  const maxIssues = options.maxIssues ?? 3
  const maxLength = options.maxLength ?? 300
  const all = ParseResult.ArrayFormatter.formatErrorSync(error)
  const useful = all.filter((issue) => !isNoise(issue))
  const issues = [...new Set((useful.length > 0 ? useful : all).map(issueText))]
  const shown = issues.slice(0, maxIssues)
  const more = issues.length > shown.length ? `; and ${issues.length - shown.length} more` : ""
  const text = `${shown.join("; ")}${more}`
  return text.length > maxLength ? `${text.slice(0, maxLength - 1)}…` : text
}
