/**
 * Reads a stage id out of whatever the classifier answered: a bare id, an id in quotes or
 * with punctuation, a sentence that names one, or a JSON object such as {"stage": "delivery"}.
 * Anything that names no configured stage yields the default stage.
 */
const normalise = (text: string) => text.normalize("NFKC").toLowerCase()

const fromJson = (text: string): string | undefined => {
  const match = /\{[\s\S]*\}/.exec(text)
  if (!match) return undefined
  try {
    const value: unknown = JSON.parse(match[0])
    if (typeof value !== "object" || value === null) return undefined
    for (const key of ["stage", "id", "category", "label", "class", "intent"]) {
      const field = (value as Record<string, unknown>)[key]
      if (typeof field === "string") return field
    }
  } catch {
    return undefined
  }
  return undefined
}

export const parseStage = (output: string | null, stageIds: ReadonlyArray<string>, defaultStage: string): string => {
  if (output === null) return defaultStage
  const candidates = [fromJson(output), output].filter((c): c is string => c !== undefined)
  for (const candidate of candidates) {
    const text = normalise(candidate)
    const exact = text.replace(/[^\p{L}\p{N}_]+/gu, " ").trim()
    if (stageIds.includes(exact)) return exact
    // The earliest stage id standing as a whole word wins ("Stage: delivery." → delivery).
    let best: { id: string; at: number } | undefined
    for (const id of stageIds) {
      const at = new RegExp(`(?<![\\p{L}\\p{N}_])${id}(?![\\p{L}\\p{N}_])`, "u").exec(text)?.index
      if (at !== undefined && (best === undefined || at < best.at)) best = { id, at }
    }
    if (best) return best.id
  }
  return defaultStage
}
