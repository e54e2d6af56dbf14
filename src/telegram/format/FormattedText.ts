/**
 * A text with Telegram message entities: what the bot sends instead of a `parse_mode`, so no
 * escaping can fail. Offsets and lengths count UTF-16 code units, as the Bot API documents
 * them (and as JavaScript strings index them).
 */
import { Schema } from "effect"

/** The entity types the bot writes (a subset of the Bot API's `MessageEntity.type`). */
export const EntityType = Schema.Literal(
  "bold",
  "italic",
  "underline",
  "strikethrough",
  "spoiler",
  "blockquote",
  "code",
  "pre",
  "text_link"
)
export type EntityType = typeof EntityType.Type

/** A `MessageEntity` as the Bot API takes it: `url` for `text_link`, `language` for `pre`. */
export const TextEntity = Schema.Struct({
  type: EntityType,
  offset: Schema.Number,
  length: Schema.Number,
  url: Schema.optional(Schema.String),
  language: Schema.optional(Schema.String)
})
export type TextEntity = typeof TextEntity.Type

export interface FormattedText {
  readonly text: string
  readonly entities: ReadonlyArray<TextEntity>
}

/** A text without entities. */
export const plain = (text: string): FormattedText => ({ text, entities: [] })

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff

/**
 * Entities Telegram accepts for `text`: inside the text, not empty, never starting or ending
 * inside a surrogate pair (an edge inside one moves outward), sorted by offset (an outer
 * entity before the inner ones it contains).
 */
export const normalizeEntities = (text: string, entities: ReadonlyArray<TextEntity>): ReadonlyArray<TextEntity> =>
  entities
    .flatMap((entity): ReadonlyArray<TextEntity> => {
      let start = Math.max(0, Math.min(text.length, Math.floor(entity.offset)))
      let end = Math.max(start, Math.min(text.length, Math.floor(entity.offset + entity.length)))
      if (start > 0 && isLow(text.charCodeAt(start)) && isHigh(text.charCodeAt(start - 1))) start--
      if (end < text.length && isLow(text.charCodeAt(end)) && isHigh(text.charCodeAt(end - 1))) end++
      // Whitespace only: Telegram would show nothing of it.
      if (end <= start || text.slice(start, end).trim() === "") return []
      return [{ ...entity, offset: start, length: end - start }]
    })
    .sort((a, b) => a.offset - b.offset || b.length - a.length)

/** The part `[start, end)` of a formatted text, its entities cut to it and rebased. */
export const sliceFormatted = (formatted: FormattedText, start: number, end: number): FormattedText => {
  const text = formatted.text.slice(start, end)
  const entities = formatted.entities.flatMap((entity): ReadonlyArray<TextEntity> => {
    const from = Math.max(entity.offset, start)
    const to = Math.min(entity.offset + entity.length, end)
    return to > from ? [{ ...entity, offset: from - start, length: to - from }] : []
  })
  return { text, entities: normalizeEntities(text, entities) }
}
