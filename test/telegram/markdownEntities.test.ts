import { describe, expect, it } from "@effect/vitest"
import { Effect, FastCheck as fc } from "effect"
import type { FormattedText } from "../../src/telegram/format/FormattedText.ts"
import { markdownRenderer } from "../../src/telegram/format/markdown.ts"
import { splitFormatted, telegramMessageLimit } from "../../src/telegram/splitText.ts"

const { parsed: parsedMarkdown, toEntities: markdownToEntities } = await Effect.runPromise(markdownRenderer)

const isHigh = (code: number) => code >= 0xd800 && code <= 0xdbff
const isLow = (code: number) => code >= 0xdc00 && code <= 0xdfff

/** Offsets and lengths inside the text, never an edge inside a surrogate pair. */
const checkEntities = ({ entities, text }: FormattedText) => {
  for (const e of entities) {
    expect(e.offset).toBeGreaterThanOrEqual(0)
    expect(e.length).toBeGreaterThan(0)
    expect(e.offset + e.length).toBeLessThanOrEqual(text.length)
    expect(isLow(text.charCodeAt(e.offset))).toBe(false)
    const end = e.offset + e.length
    if (end < text.length) expect(isLow(text.charCodeAt(end)) && isHigh(text.charCodeAt(end - 1))).toBe(false)
  }
}

const word = fc.oneof(
  fc.stringMatching(/^[A-Za-z]{1,8}$/),
  fc.stringMatching(/^[а-яё]{1,6}$/),
  fc.constantFrom("😀", "👍🏽", "日本語", "ünïcödé", "𝔘𝔫𝔦")
)
/** Words joined by single spaces: a line with no Markdown in it. */
const plainLine = fc.array(word, { minLength: 1, maxLength: 8 }).map((ws) => ws.join(" "))
const plainText = fc.array(fc.tuple(plainLine, fc.constantFrom("\n", "\n\n")), { minLength: 1, maxLength: 6 })
  .map((lines) => lines.map(([line, sep], i) => (i === 0 ? line : sep + line)).join(""))

/** One piece of well-formed Markdown around plain words. */
const markup = fc.oneof(
  word.map((w) => `**${w}**`),
  word.map((w) => `_${w}_`),
  word.map((w) => `~~${w}~~`),
  word.map((w) => `\`${w}\``),
  fc.tuple(word, fc.stringMatching(/^[a-z]{1,8}$/)).map(([w, p]) => `[${w}](https://example.com/${p})`),
  word
)
const markdownLine = fc.array(markup, { minLength: 1, maxLength: 6 }).map((ps) => ps.join(" "))
const markdownBlock = fc.oneof(
  markdownLine,
  markdownLine.map((l) => `# ${l}`),
  markdownLine.map((l) => `> ${l}`),
  fc.array(markdownLine, { minLength: 1, maxLength: 3 }).map((ls) => ls.map((l) => `- ${l}`).join("\n")),
  fc.array(markdownLine, { minLength: 1, maxLength: 3 }).map((ls) => ls.map((l, i) => `${i + 1}. ${l}`).join("\n")),
  fc.tuple(fc.constantFrom("", "ts", "python"), plainLine).map(([lang, code]) => "```" + lang + "\n" + code + "\n```")
)
const markdown = fc.array(markdownBlock, { minLength: 1, maxLength: 5 }).map((bs) => bs.join("\n\n"))

describe("Markdown as Telegram entities", () => {
  it("turns the model's usual Markdown into text and entities", () => {
    const formatted = markdownToEntities("**Thanks!** Read [our site](https://example.com).\n\n- one\n- _two_")
    expect(formatted.text).toBe("Thanks! Read our site.\n\n• one\n• two")
    expect(formatted.entities).toEqual([
      { type: "bold", offset: 0, length: 7 },
      { type: "text_link", offset: 13, length: 8, url: "https://example.com" },
      { type: "italic", offset: 32, length: 3 }
    ])
  })

  it("code blocks keep their language; headings, quotes, strikethrough and inline code have entities", () => {
    const formatted = markdownToEntities("# Title\n\n> said ~~no~~\n\n```ts\nconst x = 1\n```\n\nrun `npm ci`")
    expect(formatted.text).toBe("Title\n\nsaid no\n\nconst x = 1\n\nrun npm ci")
    expect(formatted.entities).toEqual([
      { type: "bold", offset: 0, length: 5 },
      { type: "blockquote", offset: 7, length: 7 },
      { type: "strikethrough", offset: 12, length: 2 },
      { type: "pre", offset: 16, length: 11, language: "ts" },
      { type: "code", offset: 33, length: 6 }
    ])
  })

  it("UTF-16 offsets after emoji and astral letters", () => {
    const formatted = markdownToEntities("😀 𝔘 **bold**")
    expect(formatted.text).toBe("😀 𝔘 bold")
    expect(formatted.entities).toEqual([{ type: "bold", offset: 6, length: 4 }])
  })

  it("a link Telegram cannot open stays visible; a bare URL stays as it is", () => {
    expect(markdownToEntities("[click](javascript:alert(1))")).toEqual({ text: "click (javascript:alert(1))", entities: [] })
    expect(markdownToEntities("see https://example.com/a")).toEqual({ text: "see https://example.com/a", entities: [] })
  })

  it("Markdown that is not well formed degrades to its text, never loses it", () => {
    expect(markdownToEntities("**unclosed and `half")).toEqual({ text: "**unclosed and `half", entities: [] })
    expect(markdownToEntities("")).toEqual({ text: "", entities: [] })
  })

  it.prop("entities stay inside the text, never inside a surrogate pair", [fc.string({ unit: "grapheme", maxLength: 300 })], ([input]) => {
    checkEntities(markdownToEntities(input))
  })

  it.prop("entities of well-formed Markdown stay inside the text", [markdown], ([input]) => {
    checkEntities(markdownToEntities(input))
  })

  it.prop("recognised Markdown syntax does not survive as literal characters", [markdown], ([input]) => {
    const { text } = markdownToEntities(input)
    for (const syntax of ["**", "~~", "`", "](", "_"]) expect(text).not.toContain(syntax)
    for (const line of text.split("\n")) expect(line).not.toMatch(/^(#|>|- )/)
  })

  it.prop("plain text without Markdown comes back unchanged, without entities", [plainText], ([input]) => {
    expect(markdownToEntities(input)).toEqual({ text: input, entities: [] })
  })
})

describe("splitting a formatted text", () => {
  const bold = (text: string): FormattedText => ({ text, entities: [{ type: "bold", offset: 0, length: text.length }] })

  it("a text of exactly 4096 units is one part; 4097 are two, the entity continued", () => {
    expect(splitFormatted(bold("x".repeat(telegramMessageLimit)))).toEqual([bold("x".repeat(telegramMessageLimit))])
    const parts = splitFormatted(bold("x".repeat(telegramMessageLimit + 1)))
    expect(parts).toEqual([bold("x".repeat(telegramMessageLimit)), bold("x")])
  })

  it("prefers a paragraph, then a line break, and rebases the entities after the cut", () => {
    const first = "a".repeat(3000)
    const second = "b".repeat(2000)
    const text = `${first}\n\n${second}`
    const parts = splitFormatted({
      text,
      entities: [
        { type: "italic", offset: 2990, length: 20 },
        { type: "text_link", offset: 3002, length: 5, url: "https://example.com" }
      ]
    })
    expect(parts.map((p) => p.text)).toEqual([first, second])
    expect(parts[0]!.entities).toEqual([{ type: "italic", offset: 2990, length: 10 }])
    expect(parts[1]!.entities).toEqual([
      { type: "italic", offset: 0, length: 8 },
      { type: "text_link", offset: 0, length: 5, url: "https://example.com" }
    ])
    const lines = splitFormatted({ text: `${"c".repeat(4000)}\n${"d".repeat(200)}`, entities: [] })
    expect(lines.map((p) => p.text.length)).toEqual([4000, 200])
  })

  it("an emoji across the 4096 boundary goes whole into the next part, with its entity", () => {
    const text = "x".repeat(telegramMessageLimit - 1) + "😀😀"
    const parts = splitFormatted({ text, entities: [{ type: "bold", offset: telegramMessageLimit - 1, length: 4 }] })
    expect(parts.map((p) => p.text)).toEqual(["x".repeat(telegramMessageLimit - 1), "😀😀"])
    expect(parts[0]!.entities).toEqual([])
    expect(parts[1]!.entities).toEqual([{ type: "bold", offset: 0, length: 4 }])
  })

  it.prop(
    "every part fits, keeps valid entities, and the parts keep all the text",
    [fc.array(markdownBlock, { minLength: 20, maxLength: 60 }).map((bs) => bs.join("\n\n")), fc.integer({ min: 50, max: 500 })],
    ([input, limit]) => {
      const formatted = markdownToEntities(input)
      const parts = splitFormatted(formatted, limit)
      for (const part of parts) {
        expect(part.text.length).toBeLessThanOrEqual(limit)
        checkEntities(part)
      }
      expect(parts.map((p) => p.text).join("").replace(/\s+/g, "")).toBe(formatted.text.replace(/\s+/g, ""))
    },
    { fastCheck: { numRuns: 30 } }
  )
})

describe("the plain-text shortcut", () => {
  it("gives what the parser gives, for any line of words, URLs, addresses, numbers and punctuation", () => {
    const piece = fc.oneof(
      word,
      fc.constantFrom(
        " ", "  ", ".", ",", "!", "?", ":", ";", "-", "+", "=", "#", "#12", "(", ")", "'", "\"", "/", "@", "%", "$",
        "1.", "2)", "10", "3.14", "www.example.com", "https://example.com/a_b?x=1", "mailto:a@b.co", "a@b.co",
        "tg://user?id=1", "WWW.EXAMPLE.COM", "xmpp:a@b.co", "http://x.y", "ftp://x.y", "*", "_", "`", "[x]", "<b>", "&amp;", "~", "|", "\\", "\t", "\n", "    "
      )
    )
    fc.assert(
      fc.property(fc.array(piece, { minLength: 0, maxLength: 12 }).map((ps) => ps.join("")), (text) => {
        expect(markdownToEntities(text)).toEqual(parsedMarkdown(text))
      }),
      { numRuns: 2_000, seed: 20261201 }
    )
  })
})
