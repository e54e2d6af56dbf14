/**
 * A profile's texts in several languages, as its file writes them: each fixed text is one
 * string (in the profile's `language`) or one per language (`{ "en": "…", "ru": "…" }`), keyed by
 * Telegram's `language_code` up to its first `-`. Loading splits them into the texts of the
 * profile's `language`, which every text must have, and the other languages' variants (only
 * those the file has); which one a user reads is chosen per update (`UserLanguage.ts`).
 */
import { Effect, Record as Rec, Schema } from "effect"
import { NonEmpty } from "./textField.ts"

/** A language as the profile keys its texts: Telegram's `language_code` up to its first `-` ("ru" of "ru-RU"). */
export const LanguageCode = Schema.String.pipe(
  Schema.pattern(/^[a-z]{2,3}$/, {
    message: (issue) => `expected a language code (2 or 3 lower-case letters, e.g. "en", "ru"), got ${JSON.stringify(issue.actual)}`
  })
)

/** A fixed text as a profile file writes it: one string (the profile's `language`) or one per language. */
export const LocalizedText = Schema.Union(NonEmpty, Schema.Record({ key: LanguageCode, value: NonEmpty }))
export type LocalizedText = typeof LocalizedText.Type

/**
 * The fields of a struct of texts as a profile file writes them: each text a `LocalizedText`,
 * required where the struct requires it. Derived, so that a text added to the struct has its
 * per-language variants with nothing more.
 */
export const localizedFields = <Fields extends Schema.Struct.Fields>(fields: Fields) =>
  Rec.map(fields, (field) => Schema.isPropertySignature(field) ? Schema.optional(LocalizedText) : LocalizedText) as {
    readonly [K in keyof Fields]: Fields[K] extends Schema.PropertySignature.All ? Schema.optional<typeof LocalizedText>
      : typeof LocalizedText
  }

/** A file's texts split by language: those of its `language` (not decoded yet) and the other languages' variants. */
export interface SplitTexts {
  readonly own: Record<string, unknown>
  readonly translations: Record<string, Record<string, unknown>>
}

/**
 * Splits a file's `texts` (and its `toolsWorking`, one text per tool) by language; a text
 * written per language without a variant in `language` is the problem returned.
 */
export const splitLanguages = (
  language: string,
  texts: Readonly<Record<string, LocalizedText | undefined>>,
  toolsWorking: Readonly<Record<string, LocalizedText>> | undefined
): Effect.Effect<SplitTexts, string> =>
  Effect.gen(function*() {
    const own: Record<string, unknown> = {}
    const translations: Record<string, Record<string, unknown>> = {}
    for (const [name, value] of Object.entries(texts)) {
      if (value === undefined) continue
      if (typeof value === "string") {
        own[name] = value
        continue
      }
      const inDefault = value[language]
      if (inDefault === undefined) {
        return yield* Effect.fail(
          `texts.${name}: expected a text in the profile's language "${language}", got only ${Object.keys(value).join(", ")}`
        )
      }
      own[name] = inDefault
      for (const [other, text] of Object.entries(value)) {
        if (other !== language) translations[other] = { ...translations[other], [name]: text }
      }
    }
    // The texts by tool: the default language's for every tool, then each language's over them.
    if (toolsWorking !== undefined) {
      const byLanguage: Record<string, Record<string, string>> = {}
      for (const [tool, value] of Object.entries(toolsWorking)) {
        const variants = typeof value === "string" ? { [language]: value } : value
        if (variants[language] === undefined) {
          return yield* Effect.fail(
            `texts.toolsWorking.${tool}: expected a text in the profile's language "${language}", got only ${Object.keys(variants).join(", ")}`
          )
        }
        for (const [other, text] of Object.entries(variants)) byLanguage[other] = { ...byLanguage[other], [tool]: text }
      }
      const inDefault = byLanguage[language] ?? {}
      own.toolsWorking = inDefault
      for (const [other, tools] of Object.entries(byLanguage)) {
        if (other !== language) translations[other] = { ...translations[other], toolsWorking: { ...inDefault, ...tools } }
      }
    }
    return { own, translations }
  })
