/**
 * The bot profile: what the bot is for. Stages with their prompts and tools, the default
 * stage, the fixed texts (greeting, help, apology…) and the knowledge base the
 * `search_knowledge_base` tool searches. A profile is a JSON file; its knowledge base is a
 * Markdown file beside it whose `##` headings make the sections.
 */
import { FileSystem, Path } from "@effect/platform"
import { Context, Effect, Layer, ParseResult, Schema } from "effect"
import { ConfigurationError } from "../domain/errors.ts"

const NonEmpty = Schema.String.pipe(Schema.minLength(1))
const ToolName = Schema.String.pipe(Schema.pattern(/^[a-zA-Z0-9_-]{1,64}$/))

export const Stage = Schema.Struct({
  /** Identifier the classifier answers with, e.g. `delivery`. */
  id: Schema.String.pipe(Schema.pattern(/^[a-z][a-z0-9_]{0,39}$/)),
  /** One line the classifier reads to decide. */
  description: NonEmpty,
  /** System prompt of the think and synthesize steps in this stage. */
  prompt: NonEmpty,
  /** Tools the model may call in this stage. */
  tools: Schema.Array(ToolName),
  /** Words (any language, lower case) the offline model uses to pick this stage. */
  keywords: Schema.optionalWith(Schema.Array(NonEmpty), { default: () => [] })
})
export type Stage = typeof Stage.Type

export const ProfileTexts = Schema.Struct({
  greeting: NonEmpty,
  help: NonEmpty,
  apology: NonEmpty,
  textOnly: NonEmpty,
  emptyMessage: NonEmpty,
  /** `{count}` is replaced by the number of messages removed. */
  cleared: NonEmpty,
  /** Sent to the admin chat on a handoff; `{name}`, `{id}`, `{reason}` are replaced. */
  handoffNotice: NonEmpty
})

export const ProfileFile = Schema.Struct({
  name: NonEmpty,
  language: NonEmpty,
  /** IANA time zone of the business, used by `get_current_time` when none is asked. */
  timeZone: NonEmpty,
  persona: NonEmpty,
  classifierPrompt: NonEmpty,
  synthesisPrompt: NonEmpty,
  defaultStage: NonEmpty,
  stages: Schema.NonEmptyArray(Stage),
  texts: ProfileTexts,
  /** Path of the knowledge base, relative to the profile file. */
  knowledgeBase: NonEmpty
}).pipe(
  Schema.filter((p) => {
    const ids = p.stages.map((s) => s.id)
    if (new Set(ids).size !== ids.length) return { path: ["stages"], message: "stage ids must be unique" }
    if (!ids.includes(p.defaultStage)) {
      return { path: ["defaultStage"], message: `expected one of the stage ids (${ids.join(", ")})` }
    }
    return undefined
  })
)
export type ProfileFile = typeof ProfileFile.Type

export interface KnowledgeSection {
  readonly title: string
  readonly text: string
}

export interface BotProfileData extends ProfileFile {
  readonly source: string
  readonly knowledge: ReadonlyArray<KnowledgeSection>
}

export class BotProfile extends Context.Tag("BotProfile")<BotProfile, BotProfileData>() {}

/** The stage with this id, or the default stage. */
export const stageOrDefault = (profile: BotProfileData, id: string): Stage =>
  profile.stages.find((s) => s.id === id) ?? profile.stages.find((s) => s.id === profile.defaultStage) ??
    profile.stages[0]

/** Splits Markdown into sections at `##` headings; text before the first heading is ignored. */
export const parseKnowledge = (markdown: string): ReadonlyArray<KnowledgeSection> => {
  const sections: Array<KnowledgeSection> = []
  let title: string | undefined
  let lines: Array<string> = []
  const flush = () => {
    if (title !== undefined) sections.push({ title, text: lines.join("\n").trim() })
  }
  for (const line of markdown.split(/\r?\n/)) {
    const heading = /^##\s+(.+?)\s*$/.exec(line)
    if (heading?.[1] !== undefined) {
      flush()
      title = heading[1]
      lines = []
    } else {
      lines.push(line)
    }
  }
  flush()
  return sections
}

const decodeProfile = Schema.decodeUnknown(Schema.parseJson(ProfileFile), { errors: "all", onExcessProperty: "error" })

/** Reads and validates a profile file and its knowledge base; any problem names the file and the field. */
export const loadProfile = (file: string) =>
  Effect.gen(function*() {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const source = path.resolve(file)
    const fail = (message: string) => new ConfigurationError({ source, message })
    const text = yield* fs.readFileString(source).pipe(
      Effect.mapError((e) => fail(`cannot read the profile: ${e.message}`))
    )
    const profile = yield* decodeProfile(text).pipe(
      Effect.mapError((e) => fail(`invalid profile:\n${ParseResult.TreeFormatter.formatErrorSync(e)}`))
    )
    const kbPath = path.resolve(path.dirname(source), profile.knowledgeBase)
    const kbText = yield* fs.readFileString(kbPath).pipe(
      Effect.mapError((e) => fail(`cannot read the knowledge base ${kbPath}: ${e.message}`))
    )
    const knowledge = parseKnowledge(kbText)
    if (knowledge.length === 0) {
      return yield* Effect.fail(fail(`knowledge base ${kbPath} has no "## " sections`))
    }
    return { ...profile, source, knowledge } satisfies BotProfileData
  })

/** The profile from a file. */
export const BotProfileFile = (file: string) => Layer.effect(BotProfile, loadProfile(file))
