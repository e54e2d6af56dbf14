/**
 * The model's Markdown as Telegram shows it: plain text plus message entities. The Markdown is
 * read by a CommonMark parser with the GFM extensions (`mdast-util-from-markdown`,
 * `mdast-util-gfm`), never by patterns, and the tree is written out as text:
 *
 * - bold, italic, strikethrough, inline code → `bold`, `italic`, `strikethrough`, `code`;
 * - fenced and indented code → `pre` (with the fence's language);
 * - links → `text_link` (http, https, tg and mailto URLs; another URL stays visible in
 *   parentheses; a bare URL stays as it is, Telegram links it itself);
 * - headings → a bold line; blockquotes → `blockquote`; lists → `•` or `1.` lines, nested
 *   lists indented, task items `☐` / `☑`; tables → one line per row, cells joined by `|`;
 * - raw HTML stays as it was written.
 *
 * Nothing is lost: every character of text in the input reaches the output. An input the
 * parser cannot read comes back as it is, without entities.
 */
import { Effect, Either } from "effect"
import type { Definition, Nodes, PhrasingContent, Root, RootContent } from "mdast"
import { type EntityType, type FormattedText, normalizeEntities, plain, type TextEntity } from "./FormattedText.ts"

/** URL schemes a `text_link` may carry. */
const linkable = /^(https?:\/\/|tg:\/\/|mailto:)\S+$/i
/** What a `pre` entity accepts as a language name. */
const languageName = /^[\w#+.-]{1,32}$/

type Parse = (markdown: string) => Either.Either<Root, unknown>

interface Writer {
  text: string
  readonly entities: Array<TextEntity>
  readonly definitions: ReadonlyMap<string, Definition>
  /** Inside a blockquote: Telegram does not nest them. */
  quoted: boolean
  /** Inside code: its text is written as it is, without further entities. */
  code: boolean
}

const write = (w: Writer, text: string) => {
  w.text += text
}

/** Runs `body`, then covers what it wrote with an entity of `type`. */
const wrap = (w: Writer, type: EntityType, body: () => void, extra: Partial<TextEntity> = {}) => {
  const start = w.text.length
  body()
  const length = w.text.length - start
  if (length > 0) w.entities.push({ type, offset: start, length, ...extra })
}

const collectDefinitions = (node: Nodes, into: Map<string, Definition>) => {
  if (node.type === "definition") {
    if (!into.has(node.identifier)) into.set(node.identifier, node)
    return
  }
  if ("children" in node) for (const child of node.children) collectDefinitions(child, into)
}

const plainText = (node: Nodes): string => {
  if ("value" in node && typeof node.value === "string") return node.value
  if ("children" in node) return node.children.map(plainText).join("")
  if (node.type === "image" || node.type === "imageReference") return node.alt ?? ""
  return ""
}

const link = (w: Writer, url: string, children: ReadonlyArray<PhrasingContent>, fallbackText: string) => {
  const start = w.text.length
  if (children.length > 0) phrasing(w, children)
  else write(w, fallbackText)
  const shown = w.text.slice(start)
  if (shown === "") write(w, url)
  if (shown === url || shown === "" || url === "") return
  if (linkable.test(url) && !w.code) w.entities.push({ type: "text_link", offset: start, length: w.text.length - start, url })
  else write(w, ` (${url})`)
}

const inline = (w: Writer, node: PhrasingContent): void => {
  switch (node.type) {
    case "text":
    case "html":
      return write(w, node.value)
    case "break":
      return write(w, "\n")
    case "emphasis":
      return wrap(w, "italic", () => phrasing(w, node.children))
    case "strong":
      return wrap(w, "bold", () => phrasing(w, node.children))
    case "delete":
      return wrap(w, "strikethrough", () => phrasing(w, node.children))
    case "inlineCode":
      return wrap(w, "code", () => write(w, node.value))
    case "link":
      return link(w, node.url, node.children, "")
    case "image":
      return link(w, node.url, [], node.alt ?? "")
    case "linkReference": {
      const definition = w.definitions.get(node.identifier)
      if (definition === undefined) return phrasing(w, node.children)
      return link(w, definition.url, node.children, "")
    }
    case "imageReference": {
      const definition = w.definitions.get(node.identifier)
      return definition === undefined ? write(w, node.alt ?? "") : link(w, definition.url, [], node.alt ?? "")
    }
    case "footnoteReference":
      return write(w, `[^${node.label ?? node.identifier}]`)
  }
}

const phrasing = (w: Writer, nodes: ReadonlyArray<PhrasingContent>) => {
  for (const node of nodes) inline(w, node)
}

/** Blocks one after another, `separator` between those that wrote something. */
const blocks = (w: Writer, nodes: ReadonlyArray<RootContent>, separator: string, indent: string) => {
  let first = true
  for (const node of nodes) {
    const before = w.text.length
    if (!first) write(w, separator)
    const afterSeparator = w.text.length
    block(w, node, indent)
    // Nothing written (a definition): no separator either.
    if (w.text.length === afterSeparator) w.text = w.text.slice(0, before)
    else first = false
  }
}

const block = (w: Writer, node: RootContent, indent: string): void => {
  switch (node.type) {
    case "paragraph":
      return phrasing(w, node.children)
    case "heading":
      return wrap(w, "bold", () => phrasing(w, node.children))
    case "thematicBreak":
      return write(w, "———")
    case "blockquote": {
      if (w.quoted) return blocks(w, node.children, "\n", indent)
      w.quoted = true
      wrap(w, "blockquote", () => blocks(w, node.children, "\n", indent))
      w.quoted = false
      return
    }
    case "code": {
      const language = node.lang ?? undefined
      const wasCode = w.code
      w.code = true
      wrap(w, "pre", () => write(w, node.value), language !== undefined && languageName.test(language) ? { language } : {})
      w.code = wasCode
      return
    }
    case "html":
      return write(w, node.value)
    case "list": {
      const start = node.start ?? 1
      node.children.forEach((item, index) => {
        if (index > 0) write(w, `\n${indent}`)
        const bullet = node.ordered === true ? `${start + index}. ` : "• "
        const task = item.checked === true ? "☑ " : item.checked === false ? "☐ " : ""
        write(w, bullet + task)
        const inner = indent + " ".repeat(bullet.length)
        blocks(w, item.children, `\n${inner}`, inner)
      })
      return
    }
    case "table": {
      node.children.forEach((row, index) => {
        if (index > 0) write(w, "\n")
        const cells = () =>
          row.children.forEach((cell, c) => {
            if (c > 0) write(w, " | ")
            phrasing(w, cell.children)
          })
        if (index === 0) wrap(w, "bold", cells)
        else cells()
      })
      return
    }
    case "footnoteDefinition": {
      write(w, `[^${node.label ?? node.identifier}]: `)
      return blocks(w, node.children, "\n", indent)
    }
    case "definition":
    case "yaml":
      return
    default:
      return write(w, plainText(node))
  }
}

/** Markdown as Telegram text and entities; an input the parser cannot read comes back as it is. */
/** Characters that mean something to Markdown anywhere in a line, and line breaks. */
const inlineSyntax = /[*_`[\]<>&\\~|\t\n\r]/
/** What makes a line a block of its own: a list item, a heading, a quote, a setext underline. */
const blockSyntax = /^(?:[-+=#>]|\d+[.)])/
/** What GFM links without syntax: an e-mail address, a `www.` name. */
const autolink = /@|www\./i

/**
 * Whether the text reads the same with or without Markdown: one line, no syntax character, no
 * block marker, nothing GFM would link, no leading or trailing space (which the parser would drop). Most short answers
 * are such text; they skip the parser (a profile of W1 put it at 4 % of the bot's CPU).
 */
const isPlainText = (text: string): boolean =>
  !inlineSyntax.test(text) && !blockSyntax.test(text) && !autolink.test(text) && text.trim() === text

/** The model's Markdown as text and entities, with the parser loaded. */
export interface MarkdownRenderer {
  /** The model's Markdown as text and entities (see the top of this module). */
  readonly toEntities: (markdown: string) => FormattedText
  /** The parser's reading of `markdown`, with no shortcut for plain text. */
  readonly parsed: (markdown: string) => FormattedText
}

const rendererWith = (parse: Parse): MarkdownRenderer => {
  const parsed = (markdown: string): FormattedText =>
    Either.match(parse(markdown), {
      onLeft: () => plain(markdown),
      onRight: (root) => {
        const definitions = new Map<string, Definition>()
        collectDefinitions(root, definitions)
        const w: Writer = { text: "", entities: [], definitions, quoted: false, code: false }
        blocks(w, root.children, "\n\n", "")
        return { text: w.text, entities: normalizeEntities(w.text, w.entities) }
      }
    })
  return { parsed, toEntities: (markdown) => (isPlainText(markdown) ? plain(markdown) : parsed(markdown)) }
}

/**
 * The renderer, the parser (micromark with GFM, about a hundred modules) imported when a layer
 * that renders answers is built, not when the program starts (`--help` never loads it).
 */
export const markdownRenderer: Effect.Effect<MarkdownRenderer> = Effect.promise(async () => {
  const [{ fromMarkdown }, { gfmFromMarkdown }, { gfm }] = await Promise.all([
    import("mdast-util-from-markdown"),
    import("mdast-util-gfm"),
    import("micromark-extension-gfm")
  ])
  return rendererWith((markdown) =>
    Either.try(() => fromMarkdown(markdown, { extensions: [gfm()], mdastExtensions: [gfmFromMarkdown()] })))
})
