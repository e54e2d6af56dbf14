import { describe, expect, it } from "@effect/vitest"
import { readFileSync } from "node:fs"
import { Effect } from "effect"
import { makeDocumentText } from "../../src/media/DocumentText.ts"

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(`../fixtures/media/${name}`, import.meta.url)))
const documents = makeDocumentText()

describe("document text", () => {
  it.effect("a PDF's text, page by page; reading stops once enough is read, with a note", () =>
    Effect.gen(function*() {
      expect(yield* documents.extract(fixture("invoice.pdf"), "pdf", 1000)).toBe("Invoice NW-1001\nTotal: 42.00 EUR, due 2026-12-15")
      const all = yield* documents.extract(fixture("catalog.pdf"), "pdf", 10_000)
      expect(all.split("\n\n")).toHaveLength(5)
      expect(all).toContain("Page 5: winter catalog")
      const cut = yield* documents.extract(fixture("catalog.pdf"), "pdf", 60)
      expect(cut).toBe(`${all.slice(0, 60)}\n[… cut: the first 60 characters of the document's 5 pages are shown]`)
    }))

  it.effect("text files as UTF-8 (BOM and CRLF cleaned); broken PDFs and binary files are typed errors", () =>
    Effect.gen(function*() {
      const text = new TextEncoder().encode("\uFEFFline one\r\nline two\r\n")
      expect(yield* documents.extract(text, "text", 100)).toBe("line one\nline two")
      const broken = yield* Effect.flip(documents.extract(new Uint8Array([37, 80, 68, 70, 1, 2, 3]), "pdf", 100))
      expect(broken._tag).toBe("DocumentUnreadable")
      expect((yield* Effect.flip(documents.extract(new Uint8Array([0xff, 0xfe, 0x00, 0x41]), "text", 100))).message).toMatch(/not UTF-8/)
      expect((yield* Effect.flip(documents.extract(new Uint8Array([0x41, 0x00, 0x42]), "text", 100))).message).toMatch(/binary/)
    }))
})
