/**
 * Splits a reply into parts Telegram accepts (at most 4096 UTF-16 code units each): at a
 * paragraph break if one fits, else at a sentence end, else between words, else at the limit —
 * never inside a surrogate pair. Parts keep their order; whitespace at the cuts is dropped.
 */
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

export const splitText = (text: string, limit: number = telegramMessageLimit): ReadonlyArray<string> => {
  const max = Math.max(2, Math.floor(limit))
  const parts: Array<string> = []
  let rest = text.trim()
  while (rest.length > max) {
    const cut = cutPoint(rest, max)
    const part = rest.slice(0, cut).trimEnd()
    if (part.length > 0) parts.push(part)
    rest = rest.slice(cut).trimStart()
  }
  if (rest.length > 0) parts.push(rest)
  return parts
}
