/**
 * How the offline model uses tools it has no rule for (a team's own tools): it picks the tool
 * whose name, description and parameter names share the most words with the user's text, and
 * fills the parameters it can find there — a value matching the parameter's `pattern` (an order
 * number such as NW-1001), a number, an email address, a code with digits. A tool is called only
 * when every required parameter was found, so a question without an order number is answered
 * without a call rather than with a call bound to fail.
 */
import type { ToolCall, ToolSpec } from "./LanguageModel.ts"

/** Words too common to say which tool a text is about. */
const stopWords = new Set([
  "the", "and", "for", "you", "your", "with", "from", "this", "that", "what", "where", "when", "which",
  "how", "who", "why", "are", "was", "were", "can", "could", "would", "will", "please", "tell", "about",
  "get", "set", "one", "has", "have", "had", "not", "its", "our", "their", "any", "all", "does", "did",
  "into", "out", "then", "than", "there", "here", "them", "they", "is", "my", "me", "of", "to", "in", "on",
  "a", "an", "or", "it", "be", "do", "up", "by", "at", "as", "id"
])

/** The words of a text, lowercased; `snake_case` and `camelCase` names split into words. */
const wordsOf = (text: string): ReadonlyArray<string> =>
  text
    .replace(/([\p{Ll}\d])(\p{Lu})/gu, "$1 $2")
    .toLowerCase()
    .split(/[^\p{L}\d]+/u)
    .filter((word) => word.length >= 3 && !stopWords.has(word))

/** Two words that are one word told two ways: equal, or one the other with an ending ("order", "orders"). */
const sameWord = (a: string, b: string): boolean => {
  if (a === b) return true
  const [short, long] = a.length <= b.length ? [a, b] : [b, a]
  return short.length >= 4 && long.startsWith(short) && long.length - short.length <= 3
}

interface JsonProperty {
  readonly type?: unknown
  readonly pattern?: unknown
  readonly description?: unknown
}

interface ParameterSchema {
  readonly properties: Readonly<Record<string, JsonProperty>>
  readonly required: ReadonlyArray<string>
}

const parameterSchema = (parameters: object): ParameterSchema => {
  const properties = "properties" in parameters && typeof parameters.properties === "object" && parameters.properties !== null
    ? parameters.properties as Record<string, JsonProperty>
    : {}
  const required = "required" in parameters && Array.isArray(parameters.required)
    ? parameters.required.filter((name): name is string => typeof name === "string")
    : []
  return { properties, required }
}

// Bounded parts, as in the offline model's own email pattern: no quadratic scans of long texts.
const emailPattern = /[^\s@,;]{1,64}@[^\s@,;]{1,255}\.[a-z]{2,63}/i
const numberPattern = /(?<![\p{L}\d-])-?\d+(?:\.\d+)?(?![\p{L}\d])/u
const codePattern = /(?<![\p{L}\d-])(?=[\p{L}\d-]{0,40}\d)[\p{L}\d]{1,40}(?:-[\p{L}\d]{1,40}){0,4}/u

/** A JSON Schema `pattern` without its anchors, to find a value inside a longer text; none when it is not a valid pattern. */
const unanchored = (pattern: string): RegExp | undefined => {
  const body = pattern.replace(/^\^/, "").replace(/(?<!\\)\$$/, "")
  try {
    return new RegExp(body, "u")
  } catch (_: unknown) {
    return undefined
  }
}

/** The value of one parameter as found in the text, if any. */
const findValue = (name: string, property: JsonProperty, text: string): string | number | undefined => {
  if (typeof property.pattern === "string") return unanchored(property.pattern)?.exec(text)?.[0]
  if (property.type === "number" || property.type === "integer") {
    const found = numberPattern.exec(text)?.[0]
    return found === undefined ? undefined : property.type === "integer" ? Math.trunc(Number(found)) : Number(found)
  }
  if (property.type !== "string") return undefined
  const words = wordsOf(`${name} ${typeof property.description === "string" ? property.description : ""}`)
  if (words.some((word) => sameWord(word, "email"))) return emailPattern.exec(text)?.[0]
  if (/(?:^|_)(id|number|code|no)$|Id$/.test(name) || words.some((word) => ["number", "code", "identifier"].includes(word))) {
    return codePattern.exec(text)?.[0]
  }
  return undefined
}

/** How many of the text's words the tool's name, description and parameter names share. */
const relevance = (textWords: ReadonlyArray<string>, tool: ToolSpec, schema: ParameterSchema): number => {
  const toolWords = wordsOf(`${tool.name} ${tool.description} ${Object.keys(schema.properties).join(" ")}`)
  return new Set(textWords.filter((word) => toolWords.some((toolWord) => sameWord(word, toolWord)))).size
}

/**
 * The call of the tool among `tools` the text is most about, with the parameters found in the
 * text; none when no tool shares a word with it or a required parameter is missing.
 */
export const planTeamToolCall = (text: string, tools: ReadonlyArray<ToolSpec>): Omit<ToolCall, "id"> | undefined => {
  const textWords = wordsOf(text)
  let best: { readonly name: string; readonly args: Record<string, unknown>; readonly score: number } | undefined
  for (const tool of tools) {
    const schema = parameterSchema(tool.parameters)
    const score = relevance(textWords, tool, schema)
    if (score === 0 || (best !== undefined && score <= best.score)) continue
    const args: Record<string, unknown> = {}
    for (const [name, property] of Object.entries(schema.properties)) {
      const value = findValue(name, property, text)
      if (value !== undefined) args[name] = value
    }
    if (schema.required.every((name) => name in args)) best = { name: tool.name, args, score }
  }
  return best === undefined ? undefined : { name: best.name, arguments: JSON.stringify(best.args) }
}
