/**
 * The README is the front door and docs/ holds a page per reader; the pages link to each other's
 * sections. A renamed heading or a moved page breaks such a link silently on GitHub, so every
 * relative link of README.md and docs/*.md must name a file that exists and, for a Markdown file,
 * a heading it has (GitHub's anchors: lower case, punctuation dropped, spaces as hyphens).
 */
import { existsSync, readdirSync, readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { describe, expect, it } from "@effect/vitest"

const root = new URL("../..", import.meta.url).pathname

const pages = ["README.md", ...readdirSync(join(root, "docs")).filter((name) => name.endsWith(".md")).map((name) => `docs/${name}`)]

/** The text outside fenced code blocks, where `#` lines are comments and `](` is code. */
const prose = (text: string): string => text.replace(/```[\s\S]*?```/g, "")

const anchor = (heading: string): string =>
  heading.trim().toLowerCase().replace(/[`*]/g, "").replace(/[^\p{L}\p{N}_\- ]/gu, "").replace(/ /g, "-")

const anchorsOf = (path: string): ReadonlySet<string> =>
  new Set([...prose(readFileSync(path, "utf8")).matchAll(/^#+ (.*)$/gm)].map((match) => anchor(match[1] ?? "")))

/** The links of a page to files of the repository (not to a site). */
const relativeLinks = (page: string): ReadonlyArray<string> =>
  [...prose(readFileSync(join(root, page), "utf8")).matchAll(/\]\(([^)\s]+)\)/g)]
    .map((match) => match[1] ?? "")
    .filter((link) => !/^[a-z]+:/.test(link))

/** Each relative link of a page that does not resolve, as `page: link`. */
const brokenLinks = (page: string): ReadonlyArray<string> =>
  relativeLinks(page)
    .filter((link) => {
      const [file = "", section] = link.split("#")
      const target = file === "" ? join(root, page) : join(root, dirname(page), file)
      if (!existsSync(target)) return true
      return section !== undefined && target.endsWith(".md") && !anchorsOf(target).has(section)
    })
    .map((link) => `${page}: ${link}`)

describe("the documentation", () => {
  it("has a page per reader, each linked from a README of at most 250 lines", () => {
    const readme = readFileSync(join(root, "README.md"), "utf8")
    expect(readme.split("\n").length).toBeLessThanOrEqual(250)
    expect(pages.filter((page) => page !== "README.md").sort()).toEqual([
      "docs/architecture.md",
      "docs/build-your-own-bot.md",
      "docs/configuration.md",
      "docs/extending.md",
      "docs/features.md",
      "docs/operating.md"
    ])
    expect(pages.filter((page) => page !== "README.md" && !readme.includes(`](${page})`))).toEqual([])
    expect(readme).toContain("](bench/README.md)")
  })

  it("every relative link names a file that exists and a heading it has", () => {
    expect(pages.flatMap(relativeLinks).length).toBeGreaterThan(30)
    expect(pages.flatMap(brokenLinks)).toEqual([])
  })
})
