import { describe, expect, it } from "@effect/vitest"
import { splitText, telegramMessageLimit } from "../../src/telegram/splitText.ts"

const isLoneSurrogate = (part: string) => {
  const first = part.charCodeAt(0)
  const last = part.charCodeAt(part.length - 1)
  return (first >= 0xdc00 && first <= 0xdfff) || (last >= 0xd800 && last <= 0xdbff)
}

const squash = (text: string) => text.replace(/\s+/g, "")

describe("splitText", () => {
  it("keeps a text within the limit as one part", () => {
    expect(splitText("hello")).toEqual(["hello"])
    expect(splitText("x".repeat(telegramMessageLimit))).toHaveLength(1)
    expect(splitText("   ")).toEqual([])
  })

  it("cuts at a paragraph break when one fits", () => {
    const first = "a".repeat(3000)
    const second = "b".repeat(3000)
    expect(splitText(`${first}\n\n${second}`)).toEqual([first, second])
  })

  it("cuts at a sentence end, then between words", () => {
    const sentence = `${"word ".repeat(600).trim()}.`
    const text = `${sentence} ${"tail ".repeat(400).trim()}`
    const parts = splitText(text)
    expect(parts[0]).toBe(sentence)
    expect(parts.every((p) => p.length <= telegramMessageLimit)).toBe(true)

    const words = "lorem ipsum ".repeat(800).trim()
    const wordParts = splitText(words)
    expect(wordParts.length).toBe(3)
    for (const part of wordParts) {
      expect(part.length).toBeLessThanOrEqual(telegramMessageLimit)
      expect(part.startsWith("lorem") || part.startsWith("ipsum")).toBe(true)
      expect(part.endsWith("lorem") || part.endsWith("ipsum")).toBe(true)
    }
    expect(wordParts.join(" ")).toBe(words)
  })

  it("sees a boundary exactly at the limit", () => {
    const first = "a".repeat(telegramMessageLimit - 1) + "."
    const parts = splitText(`${first} next sentence.`)
    expect(parts).toEqual([first, "next sentence."])
  })

  it("never cuts inside a surrogate pair: emoji straddling the 4096 boundary", () => {
    // 4095 ASCII units then emoji: the first emoji occupies units 4095 and 4096.
    const text = "x".repeat(telegramMessageLimit - 1) + "😀".repeat(10)
    const parts = splitText(text)
    expect(parts).toHaveLength(2)
    expect(parts[0]).toBe("x".repeat(telegramMessageLimit - 1))
    expect(parts[1]).toBe("😀".repeat(10))
    expect(parts.some(isLoneSurrogate)).toBe(false)

    const emojiOnly = "😀".repeat(5000) // 10000 units, no spaces
    const emojiParts = splitText(emojiOnly)
    expect(emojiParts.every((p) => p.length <= telegramMessageLimit && !isLoneSurrogate(p))).toBe(true)
    expect(emojiParts.join("")).toBe(emojiOnly)
  })

  it("splits CJK text at its full stops, within the limit, in order", () => {
    const sentence = "今日は良い天気ですね。" // 11 units
    const text = sentence.repeat(1000) // 11000 units, no spaces at all
    const parts = splitText(text)
    expect(parts).toHaveLength(3)
    for (const part of parts) {
      expect(part.length).toBeLessThanOrEqual(telegramMessageLimit)
      expect(part.endsWith("。")).toBe(true)
    }
    expect(parts.join("")).toBe(text)

    const han = "漢".repeat(9000) // no boundary at all: cut at the limit
    const hanParts = splitText(han)
    expect(hanParts.map((p) => p.length)).toEqual([4096, 4096, 808])
  })

  it("keeps every character of a long mixed text, in order", () => {
    const paragraph = (i: number) => `Paragraph ${i}: ${"Текст с эмодзи 🎉 и словами. ".repeat(40)}`
    const text = Array.from({ length: 12 }, (_, i) => paragraph(i)).join("\n\n")
    const parts = splitText(text)
    expect(parts.length).toBeGreaterThan(2)
    expect(parts.every((p) => p.length <= telegramMessageLimit && !isLoneSurrogate(p))).toBe(true)
    expect(squash(parts.join(""))).toBe(squash(text))
  })
})
