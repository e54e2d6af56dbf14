/**
 * Splits a reply into parts Telegram accepts (at most 4096 UTF-16 code units each): at a
 * paragraph break if one fits, else at a line break, else at a sentence end, else between
 * words, else at the limit — never inside a surrogate pair. Parts keep their order; whitespace
 * at the cuts is dropped. A formatted text (`splitFormatted`) is cut the same way, and each
 * part carries the entities over it: an entity cut by a split continues in the next part.
 */
import { type FormattedText, sliceFormatted } from "./format/FormattedText.ts"

export const telegramMessageLimit = 4096

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

const lastMatchEnd = (window: string, pattern: RegExp, max: number): number => {
  let end = -1
  for (const match of window.matchAll(pattern)) {
    const matchEnd = match.index + match[0].length
    if (matchEnd <= max) end = matchEnd
  }
  return end
}

/** Where a sentence ends: Western punctuation before whitespace, or CJK full stops anywhere. */
const sentenceEnd = /[.!?…](?=\s)|[。！？]/g

const cutPoint = (text: string, limit: number): number => {
  // One character past the limit is looked at, so a boundary right at the limit is seen.
  const window = text.slice(0, limit + 1)
  const minimum = Math.floor(limit / 4) // a cut earlier than this wastes too much of a part
  const paragraph = window.lastIndexOf("\n\n", limit)
  if (paragraph >= minimum) return paragraph
  const line = window.lastIndexOf("\n", limit)
  if (line >= minimum) return line
  const sentence = lastMatchEnd(window, sentenceEnd, limit)
  if (sentence >= minimum) return sentence
  const space = lastWhitespace(window)
  if (space >= minimum) return space
  return isHighSurrogate(text.charCodeAt(limit - 1)) ? limit - 1 : limit
}

const lastWhitespace = (window: string): number => {
  for (let i = window.length - 1; i >= 0; i--) {
    if (/\s/.test(window[i] ?? "")) return i
  }
  return -1
}

/** The parts of `text` as `[start, end)` ranges of it, whitespace at the cuts left out. */
export const splitRanges = (text: string, limit: number = telegramMessageLimit): ReadonlyArray<readonly [number, number]> => {
  const max = Math.max(2, Math.floor(limit))
  const ranges: Array<readonly [number, number]> = []
  const isSpace = (i: number) => /\s/.test(text[i] ?? "")
  let start = 0
  let end = text.length
  while (start < end && isSpace(start)) start++
  while (end > start && isSpace(end - 1)) end--
  while (end - start > max) {
    const cut = start + cutPoint(text.slice(start, end), max)
    let partEnd = cut
    while (partEnd > start && isSpace(partEnd - 1)) partEnd--
    if (partEnd > start) ranges.push([start, partEnd])
    start = cut
    while (start < end && isSpace(start)) start++
  }
  if (end > start) ranges.push([start, end])
  return ranges
}

export const splitText = (text: string, limit: number = telegramMessageLimit): ReadonlyArray<string> =>
  splitRanges(text, limit).map(([start, end]) => text.slice(start, end))

/** A formatted text in parts Telegram accepts, each with its entities rebased onto it. */
export const splitFormatted = (formatted: FormattedText, limit: number = telegramMessageLimit): ReadonlyArray<FormattedText> =>
  splitRanges(formatted.text, limit).map(([start, end]) => sliceFormatted(formatted, start, end))
