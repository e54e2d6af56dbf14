/**
 * The model's Markdown as Telegram's rich Markdown accepts it (Bot API 10.1, `rich_message.markdown`).
 * Rich Markdown is GitHub-flavoured Markdown with formulas, spoilers and a few HTML tags, so
 * most of what a model writes passes as it is; what would be refused or misread is rewritten,
 * outside code (fenced blocks and inline code are never touched):
 *
 * - LaTeX delimiters `\( … \)` and `\[ … \]` → `$ … $` and `$$ … $$` (the rich formula syntax);
 * - a dollar before a digit (`$5`) → `\$5`, a price, not the start of a formula;
 * - images → links (http and https) or their alt text: a media block would make Telegram fetch
 *   whatever URL the model wrote;
 * - HTML tags rich messages do not have → text (`&lt;`); named HTML entities they do not have → text.
 *
 * An answer over the rich message's length limit has no rich form: it goes as text with entities
 * (split into messages).
 */
import { Option } from "effect"

/** The rich message's limit: 32,768 characters of text. */
export const richLengthLimit = 32_768

const fence = /^ {0,3}(```|~~~)/
const inlineCode = /(``[^\n]*?``|`[^`\n]*`)/
const displayMath = /\\\[([\s\S]+?)\\\]/g
const inlineMath = /\\\(([\s\S]+?)\\\)/g
const currency = /(^|[^\\$])\$(?=\d)/g
const image = /!\[([^\]\n]*)\]\(\s*([^)\s]+)(?:\s+"[^"\n]*")?\s*\)/g
const tag = /<(\/?)([A-Za-z][\w-]*)([^<>]*)>/g
const namedEntity = /&([A-Za-z][A-Za-z0-9]*);/g

/** HTML tags rich Markdown reads (the inline ones and the blocks a model may write). */
const richTags = new Set([
  "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "code", "pre", "a", "sub", "sup", "mark",
  "tg-spoiler", "details", "summary", "blockquote", "br", "aside", "cite"
])
/** The named HTML entities the Bot API knows. */
const richEntities = new Set(["lt", "gt", "amp", "quot", "apos", "nbsp", "hellip", "mdash", "ndash", "lsquo", "rsquo", "ldquo", "rdquo"])

/** One stretch of text outside code rewritten. */
const prose = (text: string): string =>
  text
    .replace(currency, (_, before: string) => `${before}\\$`)
    .replace(displayMath, (_, formula: string) => `$$${formula}$$`)
    .replace(inlineMath, (_, formula: string) => `$${formula}$`)
    .replace(image, (_, alt: string, url: string) => (/^https?:\/\//i.test(url) ? `[${alt === "" ? url : alt}](${url})` : alt))
    .replace(tag, (whole: string, _close: string, name: string) => (richTags.has(name.toLowerCase()) ? whole : `&lt;${whole.slice(1)}`))
    .replace(namedEntity, (whole: string, name: string) => (richEntities.has(name) ? whole : `&amp;${name};`))

/** A block of lines outside fences: its inline code kept, the rest rewritten. */
const block = (text: string): string =>
  text.split(inlineCode).map((piece, i) => (i % 2 === 1 ? piece : prose(piece))).join("")

/** `markdown` as rich Markdown; none when it is too long for a rich message. */
export const toRichMarkdown = (markdown: string): Option.Option<string> => {
  if (markdown.length > richLengthLimit) return Option.none()
  const out: Array<string> = []
  let pending: Array<string> = []
  let open: string | undefined
  const flush = () => {
    if (pending.length > 0) out.push(block(pending.join("\n")))
    pending = []
  }
  for (const line of markdown.split("\n")) {
    const marker = fence.exec(line)?.[1]
    if (open === undefined) {
      if (marker === undefined) {
        pending.push(line)
        continue
      }
      flush()
      open = marker
      out.push(line)
    } else {
      out.push(line)
      if (marker === open) open = undefined
    }
  }
  flush()
  const rich = out.join("\n")
  return rich.length > richLengthLimit ? Option.none() : Option.some(rich)
}
