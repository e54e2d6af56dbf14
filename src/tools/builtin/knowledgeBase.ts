/** Searches the profile's knowledge base: sections ranked by how many query words they contain. */
import { Effect, Schema } from "effect"
import { BotProfile, type KnowledgeSection } from "../../profile/BotProfile.ts"
import { defineTool } from "../Tool.ts"

const words = (text: string): ReadonlyArray<string> =>
  text.toLowerCase().normalize("NFKC").split(/[^\p{L}\p{N}]+/u).filter((w) => w.length >= 2)

/** A crude stem: the first five characters, enough to match "доставка" and "доставку". */
const stem = (word: string) => (word.length > 5 ? word.slice(0, 5) : word)

const stopWords = new Set([
  "the", "and", "you", "your", "for", "are", "is", "do", "to", "of", "in", "on", "it", "me", "my", "what", "how",
  "can", "a", "an", "at", "or", "with", "we", "our", "us", "please", "about", "вы", "вас", "как", "что", "это",
  "мне", "на", "по", "для", "какие", "есть", "ли", "а", "и", "у"
])

export const scoreSections = (
  sections: ReadonlyArray<KnowledgeSection>,
  query: string,
  limit: number
): ReadonlyArray<KnowledgeSection & { readonly score: number }> => {
  const queryStems = new Set(words(query).filter((w) => !stopWords.has(w)).map(stem))
  // CJK text has no spaces: match its characters' runs as substrings too.
  const cjk = [...query.matchAll(/[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}]{2,}/gu)].map((m) => m[0])
  return sections
    .map((section) => {
      const haystack = `${section.title}\n${section.text}`
      const sectionStems = new Set(words(haystack).map(stem))
      let score = 0
      for (const s of queryStems) if (sectionStems.has(s)) score += 1
      for (const s of words(section.title)) if (queryStems.has(stem(s))) score += 2
      for (const run of cjk) if (haystack.includes(run)) score += 2
      return { ...section, score }
    })
    .filter((s) => s.score > 0)
    .sort((a, b) => b.score - a.score)
    .slice(0, limit)
}

export const searchKnowledgeBase = defineTool({
  name: "search_knowledge_base",
  description: "Searches the shop's knowledge base (delivery, payment, opening hours, returns, contacts…) and returns the best matching sections.",
  parameters: Schema.Struct({
    query: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(1000)).annotations({
      description: "What to look for, in the customer's words"
    }),
    top_k: Schema.optional(Schema.Int.pipe(Schema.between(1, 5))).annotations({ description: "How many sections (default 2)" })
  }),
  handler: (args) =>
    Effect.map(BotProfile, (profile) => {
      const found = scoreSections(profile.knowledge, args.query, args.top_k ?? 2)
      return { sections: found.map(({ text, title }) => ({ title, text: text.replace(/\nKeywords:.*$/s, "").trim() })) }
    })
})
