/**
 * Splits a reply into parts Telegram accepts (at most 4096 UTF-16 code units each): at a
 * paragraph break if one fits, else at a sentence end, else between words, else at the limit —
 * never inside a surrogate pair. Parts keep their order; whitespace at the cuts is dropped.
 */
export const telegramMessageLimit = 4096

const isHighSurrogate = (code: number) => code >= 0xd800 && code <= 0xdbff

const lastMatchEnd = (window: string, pattern: RegExp): number => {
  let end = -1
  for (const match of window.matchAll(pattern)) end = match.index + match[0].length
  return end
}

const cutPoint = (text: string, limit: number): number => {
  const window = text.slice(0, limit)
  const minimum = Math.floor(limit / 4) // a cut earlier than this wastes too much of a part
  const paragraph = window.lastIndexOf("\n\n")
  if (paragraph >= minimum) return paragraph
  const sentence = lastMatchEnd(window, /[.!?…。！？](?=\s)/g)
  if (sentence >= minimum) return sentence
  const space = lastMatchEnd(window, /\s/g)
  if (space >= minimum) return space
  return isHighSurrogate(text.charCodeAt(limit - 1)) ? limit - 1 : limit
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
