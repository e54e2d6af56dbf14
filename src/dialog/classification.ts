/**
 * Reads a stage id out of whatever the classifier answered. Real models do not always answer
 * with the bare id: they add words, quotes, punctuation and Markdown, change the case, write
 * in the customer's language, wrap a JSON object in a ```json fence, or think aloud in
 * `<think>` tags first. In order, the first that names a configured stage wins:
 *
 * 1. a JSON object's `stage` (or `id`, `category`, `label`, `class`, `intent`) field;
 * 2. the whole answer, once quotes and punctuation are dropped;
 * 3. the id after a label such as `Stage: delivery` or `категория — delivery`;
 * 4. the earliest stage id standing as a whole word (the longer one when two start together).
 *
 * Case, Unicode forms and the separators `_`, `-` and spaces inside ids do not matter.
 * An answer that names no configured stage (or nothing) yields the default stage.
 */

const jsonKeys = ["stage", "id", "category", "label", "class", "intent", "stage_id"] as const

const labels = [
  "stage", "stage id", "category", "class", "label", "intent", "answer", "classification", "result",
  "этап", "стадия", "категория", "класс", "ответ",
  "etapa", "categoría", "categoria", "kategorie", "phase", "catégorie", "étape"
]

/** Case- and form-insensitive text; separators inside an id become one space. */
const normalise = (text: string) => text.normalize("NFKC").toLowerCase()
const idKey = (id: string) => normalise(id).trim().split(/[\s_-]+/u).filter((p) => p !== "").join(" ")

const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")

/** Drops what reasoning models write before their answer. */
const withoutThinking = (text: string) =>
  text.replace(/<(think|thinking|reasoning)>[\s\S]*?<\/\1>/giu, " ").replace(/^[\s\S]*<\/(think|thinking|reasoning)>/iu, " ")

const parseJsonObject = (text: string): Record<string, unknown> | undefined => {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === "object" && value !== null && !Array.isArray(value) ? value as Record<string, unknown> : undefined
  } catch {
    return undefined
  }
}

/** The classifier's field from a JSON object in the text (fenced or not), if there is one. */
const fromJson = (text: string): string | undefined => {
  const fenced = /```(?:json|JSON)?\s*([\s\S]*?)```/u.exec(text)?.[1]
  const braces = /\{[\s\S]*\}/u.exec(fenced ?? text)?.[0]
  if (braces === undefined) return undefined
  const object = parseJsonObject(braces)
  if (object === undefined) return undefined
  for (const key of jsonKeys) {
    const field = object[key]
    if (typeof field === "string") return field
  }
  return undefined
}

interface StageMatcher {
  readonly id: string
  readonly key: string
  readonly pattern: RegExp
}

const matcher = (id: string): StageMatcher => {
  const key = idKey(id)
  const body = key.split(" ").map(escape).join("[\\s_-]+")
  return { id, key, pattern: new RegExp(`(?<![\\p{L}\\p{N}])${body}(?![\\p{L}\\p{N}])`, "u") }
}

/** The earliest stage named as a whole word in `text`; the longer id when two start together. */
const earliest = (text: string, matchers: ReadonlyArray<StageMatcher>): string | undefined => {
  let best: { readonly id: string; readonly at: number; readonly length: number } | undefined
  for (const m of matchers) {
    const found = m.pattern.exec(text)
    if (found === null) continue
    if (best === undefined || found.index < best.at || (found.index === best.at && found[0].length > best.length)) {
      best = { id: m.id, at: found.index, length: found[0].length }
    }
  }
  return best?.id
}

const labelPattern = new RegExp(
  `(?<![\\p{L}\\p{N}])(?:${labels.map(escape).join("|")})\\s*(?:[:=：—–-]|\\bis\\b)\\s*([^\\n]*)`,
  "iu"
)

export const parseStage = (output: string | null, stageIds: ReadonlyArray<string>, defaultStage: string): string => {
  if (output === null) return defaultStage
  const matchers = stageIds.map(matcher)
  const byKey = (text: string) => {
    const key = idKey(text.replace(/[^\p{L}\p{N}_\s-]+/gu, " "))
    return matchers.find((m) => m.key === key)?.id
  }
  const answer = normalise(withoutThinking(output))

  const json = fromJson(answer)
  if (json !== undefined) {
    const named = byKey(json) ?? earliest(normalise(json), matchers)
    if (named !== undefined) return named
  }
  const whole = byKey(answer)
  if (whole !== undefined) return whole
  const labelled = labelPattern.exec(answer)?.[1]
  if (labelled !== undefined) {
    const named = byKey(labelled) ?? earliest(labelled, matchers)
    if (named !== undefined) return named
  }
  return earliest(answer, matchers) ?? defaultStage
}
