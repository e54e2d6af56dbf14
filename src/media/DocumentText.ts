/**
 * The text of a document a user sent: plain-text files decoded as UTF-8, PDFs read with
 * `unpdf` (PDF.js for servers) page by page, stopping once enough text is read (a large PDF is
 * not parsed to its end for text that would be cut anyway). The text is capped at the given
 * number of characters, with a note of what was cut. What the bot cannot read is said so, as a
 * typed error.
 */
import { Context, Effect, Layer, Schema } from "effect"
import { annotateSpan, withSpan } from "../observability/span.ts"

/** The document's text could not be read (a broken or encrypted PDF, a file that is not text). */
export class DocumentUnreadable extends Schema.TaggedError<DocumentUnreadable>()("DocumentUnreadable", {
  message: Schema.String
}) {}

/** The formats whose text the bot reads. */
export type DocumentFormat = "text" | "pdf"

const textTypes = /^(text\/|application\/(json|xml|csv|x-yaml|yaml|x-ndjson|ld\+json|rtf)$)/i
const textExtensions = /\.(txt|text|md|markdown|csv|tsv|json|ndjson|xml|ya?ml|log|ini|toml|html?)$/i

/** The format of a document by its MIME type and file name, or none the bot reads. */
export const documentFormat = (mimeType: string | undefined, fileName: string | undefined): DocumentFormat | undefined => {
  if (mimeType === "application/pdf" || /\.pdf$/i.test(fileName ?? "")) return "pdf"
  if ((mimeType !== undefined && textTypes.test(mimeType)) || textExtensions.test(fileName ?? "")) return "text"
  return undefined
}

/**
 * At most `maxChars` characters of `text`, with a note of what was cut when it was longer
 * (the model then knows it has the beginning only).
 */
export const capDocument = (text: string, maxChars: number): string =>
  text.length <= maxChars
    ? text
    : `${text.slice(0, maxChars)}\n[… cut: the document has ${text.length} characters, the first ${maxChars} are shown]`

export interface DocumentTextService {
  /** At most `maxChars` characters of the document's text (trimmed), with a note when cut. */
  readonly extract: (bytes: Uint8Array, format: DocumentFormat, maxChars: number) => Effect.Effect<string, DocumentUnreadable>
}

export class DocumentText extends Context.Tag("dialog-bot/DocumentText")<DocumentText, DocumentTextService>() {}

const decodeUtf8 = (bytes: Uint8Array): Effect.Effect<string, DocumentUnreadable> =>
  Effect.try({
    try: () => new TextDecoder("utf-8", { fatal: true }).decode(bytes).replace(/^\uFEFF/, ""),
    catch: () => new DocumentUnreadable({ message: "the file is not UTF-8 text" })
  }).pipe(
    Effect.filterOrFail(
      (text) => !text.includes("\u0000"),
      () => new DocumentUnreadable({ message: "the file is binary, not text" })
    )
  )

const normalize = (text: string) => text.replace(/\r\n?/g, "\n").trim()

/** The text of the first pages of a PDF, until more than `maxChars` characters are read. */
const pdfText = (bytes: Uint8Array, maxChars: number): Effect.Effect<string, DocumentUnreadable> =>
  Effect.tryPromise({
    // PDF.js takes the buffer over: it gets a copy.
    try: async () => {
      // PDF.js is imported with the first PDF: most bots never read one.
      const { getDocumentProxy } = await import("unpdf")
      // Verbosity 0: PDF.js prints its warnings about broken files to the console otherwise.
      const document = await getDocumentProxy(new Uint8Array(bytes), { verbosity: 0 })
      try {
        const pages: Array<string> = []
        let length = 0
        while (pages.length < document.numPages && length <= maxChars) {
          const page = await document.getPage(pages.length + 1)
          const content = await page.getTextContent()
          const text = content.items.map((item) => ("str" in item ? `${item.str}${item.hasEOL ? "\n" : ""}` : "")).join("")
          pages.push(normalize(text))
          length += text.length
        }
        const text = pages.filter((p) => p !== "").join("\n\n")
        if (pages.length === document.numPages || text.length <= maxChars) return capDocument(text, maxChars)
        return `${text.slice(0, maxChars)}\n[… cut: the first ${maxChars} characters of the document's ${document.numPages} pages are shown]`
      } finally {
        await document.destroy()
      }
    },
    catch: (error) =>
      new DocumentUnreadable({ message: `the PDF cannot be read: ${error instanceof Error ? error.message : String(error)}` })
  })

export const makeDocumentText = (): DocumentTextService => ({
  extract: (bytes, format, maxChars) =>
    (format === "pdf" ? pdfText(bytes, maxChars) : Effect.map(decodeUtf8(bytes), (text) => capDocument(normalize(text), maxChars))).pipe(
      Effect.tap((text) => annotateSpan({ characters: text.length })),
      withSpan("media.document_text", { attributes: { format, bytes: bytes.length } })
    )
})

/** Plain text and PDF (`unpdf`). */
export const DocumentTextLive: Layer.Layer<DocumentText> = Layer.sync(DocumentText, makeDocumentText)
