/**
 * The bot profile: what the bot is for. Stages with their prompts and tools, the default
 * stage, the fixed texts (greeting, help, apology…) and the knowledge base the
 * `search_knowledge_base` tool searches. A profile is a JSON file; its knowledge base is a
 * Markdown file beside it whose `##` headings make the sections.
 */
import { FileSystem, Path } from "@effect/platform"
import { Context, Effect, Layer, ParseResult, Schema } from "effect"
import { ConfigurationError } from "../domain/errors.ts"
import { calledTexts } from "./calledTexts.ts"
import { handoffTexts } from "./handoffTexts.ts"
import { LocalizedText, localizedFields, splitLanguages } from "./languages.ts"
import { choiceFields, choiceTexts } from "./choiceTexts.ts"
import { memoryTexts } from "./memoryTexts.ts"

const NonEmpty = Schema.String.pipe(Schema.minLength(1, { message: () => "expected a non-empty string" }))
/** A tool's name, or `server__*`: every tool of an MCP server. */
const ToolName = Schema.String.pipe(
  Schema.pattern(/^(?:[a-zA-Z0-9_-]{1,64}|[a-zA-Z0-9_-]{1,32}__\*)$/, {
    message: (issue) =>
      `expected a tool name (letters, digits, _ or -, at most 64) or server__* (every tool of an MCP server), got ${
        JSON.stringify(issue.actual)
      }`
  })
)

export const Stage = Schema.Struct({
  /** Identifier the classifier answers with, e.g. `delivery`. */
  id: Schema.String.pipe(
    Schema.pattern(/^[a-z][a-z0-9_]{0,39}$/, {
      message: (issue) =>
        `expected a stage id (a lower-case letter, then lower-case letters, digits or _, at most 40), got ${
          JSON.stringify(issue.actual)
        }`
    })
  ),
  /** One line the classifier reads to decide. */
  description: NonEmpty,
  /** System prompt of the think and synthesize steps in this stage. */
  prompt: NonEmpty,
  /** Tools the model may call in this stage: names, or `server__*` for every tool of an MCP server. */
  tools: Schema.Array(ToolName),
  /** Words (any language, lower case) the offline model uses to pick this stage. */
  keywords: Schema.optionalWith(Schema.Array(NonEmpty), { default: () => [] })
})
export type Stage = typeof Stage.Type

/** The answers about files users send (voice notes, pictures, documents); each has a default. */
const mediaTexts = {
  /** A voice note, audio file or video note that could not be transcribed. */
  voiceFailed: Schema.optionalWith(NonEmpty, {
    default: () => "Sorry, I couldn't make out your voice message. Could you type it instead?"
  }),
  /** A file over the size limit; `{limit}` is replaced by the limit (e.g. "20 MB"). */
  fileTooLarge: Schema.optionalWith(NonEmpty, {
    default: () => "This file is too large for me: I can take files up to {limit}. Could you send a smaller one?"
  }),
  /** A file that could not be fetched from Telegram. */
  fileFailed: Schema.optionalWith(NonEmpty, {
    default: () => "Sorry, I couldn't get your file from Telegram. Please try sending it again."
  }),
  /** A picture when the bot does not look at pictures (`VISION=false`). */
  noVision: Schema.optionalWith(NonEmpty, {
    default: () => "Sorry, I can't look at pictures. Could you tell me in words what it shows?"
  }),
  /** A document of a type the bot cannot read. */
  unsupportedDocument: Schema.optionalWith(NonEmpty, {
    default: () => "I can read plain-text and PDF documents only. Could you paste the text or send it as a PDF?"
  }),
  /** A plain-text or PDF document whose text could not be read. */
  documentFailed: Schema.optionalWith(NonEmpty, {
    default: () => "Sorry, I couldn't read the text of this document. Could you paste the part you mean?"
  })
}

export const ProfileTexts = Schema.Struct({
  greeting: NonEmpty,
  help: NonEmpty,
  apology: NonEmpty,
  textOnly: NonEmpty,
  emptyMessage: NonEmpty,
  /** `{count}` is replaced by the number of messages removed. */
  cleared: NonEmpty,
  /**
   * Added to `cleared` when the client has saved details; `{details}` is replaced by what is
   * kept (e.g. "name, phone"), named by the profile fields' keys.
   */
  clearedKept: Schema.optionalWith(NonEmpty, { default: () => "Your saved details ({details}) are kept." }),
  /**
   * Not shown any more: drafts show Telegram's own "Thinking…" placeholder (an empty draft, Bot
   * API 10.0). Kept so that profiles that set it still load.
   */
  thinking: Schema.optionalWith(NonEmpty, { default: () => "Thinking…" }),
  /**
   * What the placeholder draft says while a tool works, by tool name (e.g. `search_knowledge_base:
   * "Looking it up…"`); a tool without one is named as it is.
   */
  toolsWorking: Schema.optionalWith(Schema.Record({ key: Schema.String, value: NonEmpty }), { default: () => ({}) }),
  /** Added (Markdown) to the part of an answer the user stopped with the Stop button of its draft. */
  stopped: Schema.optionalWith(NonEmpty, { default: () => "_Stopped._" }),
  /** Sent to the admin chat on a handoff; `{name}`, `{id}`, `{reason}` are replaced. */
  handoffNotice: NonEmpty,
  /** Sent once per flood window to a user whose messages are dropped for coming too fast. */
  tooFast: Schema.optionalWith(NonEmpty, {
    default: () => "You are sending messages too fast. Please wait a moment: messages sent meanwhile are not answered."
  }),
  /**
   * A message not sent to the model because the user's free tokens are spent. `{renews}` is
   * replaced by when they renew (UTC), `{more}` by how to get more (`buyHint` with Stars on).
   */
  overBudget: Schema.optionalWith(NonEmpty, {
    default: () => "You have used your free messages for now. They renew {renews}.{more}"
  }),
  /** Added to `overBudget` (as `{more}`) when tokens can be bought with Telegram Stars. */
  buyHint: Schema.optionalWith(NonEmpty, { default: () => " You can also buy more with Telegram Stars: see the invoice below, or send /buy." }),
  /** Sent once when a user has spent 80 % of a free allowance; `{renews}` as in `overBudget`. */
  budgetWarning: Schema.optionalWith(NonEmpty, {
    default: () => "Heads-up: you have used 80 % of your free allowance. It renews {renews}."
  }),
  /** Sent once to a user banned with `/ban`: their messages are not answered. */
  banned: Schema.optionalWith(NonEmpty, { default: () => "Sorry, this bot does not answer your messages." }),
  /** Sent once to a user not in `ALLOWED_USERS`: the bot is private. */
  notAllowed: Schema.optionalWith(NonEmpty, { default: () => "Sorry, this bot is private: it answers only the people it was set up for." }),
  /** Sent once a Stars payment was credited; `{tokens}` is replaced by the tokens added. */
  paymentThanks: Schema.optionalWith(NonEmpty, { default: () => "Thank you! {tokens} tokens were added to your balance." }),
  /** `/usage` in a group: the answer went to the user privately. */
  usageSentPrivately: Schema.optionalWith(NonEmpty, { default: () => "I sent your usage to you in a private message." }),
  /** `/usage` in a group from a user the bot cannot write to privately (they never started it). */
  usagePrivateFirst: Schema.optionalWith(NonEmpty, {
    default: () => "Your usage is private: open a chat with me and send /usage there."
  }),
  ...mediaTexts,
  ...handoffTexts,
  ...calledTexts,
  ...choiceTexts,
  ...memoryTexts
})
export type ProfileTexts = typeof ProfileTexts.Type
export type TextName = keyof ProfileTexts

/**
 * The `texts` of a profile file: every text of `ProfileTexts`, each a string or one per
 * language (`languages.ts`), and one text per tool.
 */
const TextsFile = Schema.Struct({
  ...localizedFields(ProfileTexts.fields),
  /** One text per tool, each a string or one per language. */
  toolsWorking: Schema.optional(Schema.Record({ key: Schema.String, value: LocalizedText }))
})

/** What a model costs, in US dollars per million tokens (cached prompt tokens are part of the prompt, billed at their own price). */
export const ModelPrice = Schema.Struct({
  input: Schema.NonNegative,
  cachedInput: Schema.optional(Schema.NonNegative),
  output: Schema.NonNegative
})
export type ModelPrice = typeof ModelPrice.Type

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
  /** The fixed texts; `language` is the default for a user whose language has none. */
  texts: TextsFile,
  /**
   * The command menu's descriptions by command name, instead of the registry's: a string (in
   * `language`) or one per language, e.g. `"clear": { "en": "forget our conversation", "ru": "…" }`.
   */
  commands: Schema.optional(Schema.Record({ key: Schema.String, value: LocalizedText })),
  /**
   * Which reactions on the bot's answers are feedback: positive or negative (emoji as Telegram
   * sends them, e.g. "👍", "❤"); any other reaction is not feedback.
   */
  feedback: Schema.optional(Schema.Struct({ positive: Schema.Array(NonEmpty), negative: Schema.Array(NonEmpty) })),
  /** Path of the knowledge base, relative to the profile file. */
  knowledgeBase: NonEmpty,
  /**
   * Prices by model name, to turn the usage ledger's tokens into money (`/stats`, `usage
   * report`). A model answers under its full name (`gpt-4o-mini-2024-07-18`): the longest
   * key it starts with is its price. A model without a price costs 0.
   */
  prices: Schema.optional(Schema.Record({ key: Schema.String, value: ModelPrice })),
  ...choiceFields
}).pipe(
  Schema.filter((p) => {
    const ids = p.stages.map((s) => s.id)
    const twice = ids.find((id, i) => ids.indexOf(id) !== i)
    if (twice !== undefined) {
      return { path: ["stages", ids.lastIndexOf(twice), "id"], message: `stage ids must be unique: "${twice}" is used twice` }
    }
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

export interface BotProfileData extends Omit<ProfileFile, "texts"> {
  /** The fixed texts in the profile's `language` (the defaults filled in). */
  readonly texts: ProfileTexts
  /** The texts of the profile's other languages, by language code: only those the file has. */
  readonly translations: Readonly<Record<string, Partial<ProfileTexts>>>
  readonly source: string
  readonly knowledge: ReadonlyArray<KnowledgeSection>
}

export class BotProfile extends Context.Tag("dialog-bot/BotProfile")<BotProfile, BotProfileData>() {}

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

/** `stages[1].tools[0]`: a field as it is written in the file. */
export const fieldPath = (path: ReadonlyArray<PropertyKey>): string =>
  path.map((key, i) => (typeof key === "number" ? `[${key}]` : i === 0 ? String(key) : `.${String(key)}`)).join("")

/** Where a JSON syntax error is, as line:column, from the parser's "position N". */
const jsonPosition = (message: string, text: string): string => {
  const position = /position (\d+)/.exec(message)?.[1]
  if (position === undefined) return ""
  const before = text.slice(0, Number(position)).split("\n")
  return ` (line ${before.length}, column ${(before.at(-1)?.length ?? 0) + 1})`
}

/** One line per problem of a JSON file: the field, then what was expected. */
export const describeProblems = (error: ParseResult.ParseError, text: string): string =>
  ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) =>
    issue.path.length === 0 && issue._tag === "Transformation"
      ? `  not valid JSON: ${issue.message}${jsonPosition(issue.message, text)}`
      : `  ${issue.path.length === 0 ? "(the whole file)" : fieldPath(issue.path)}: ${issue.message}`
  ).join("\n")

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
    const decoded = yield* decodeProfile(text).pipe(
      Effect.mapError((e) => fail(`invalid profile:\n${describeProblems(e, text)}`))
    )
    const invalid = (problem: string) => fail(`invalid profile:\n  ${problem}`)
    // The texts of the profile's `language` (the defaults filled in) and the other languages' (`languages.ts`).
    const { toolsWorking, ...texts } = decoded.texts
    const split = yield* Effect.mapError(splitLanguages(decoded.language, texts, toolsWorking), invalid)
    const own = yield* Schema.decodeUnknown(ProfileTexts)(split.own).pipe(Effect.mapError((e) => invalid(`texts: ${e.message}`)))
    const profile = { ...decoded, texts: own, translations: split.translations }
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

/**
 * Every tool a stage allows must be registered: a name that is not (a typo, a tool the team
 * forgot to add) fails at start with the stage and the field, instead of the model never
 * being offered the tool. An MCP server's tools are known by their server only (`prefixes`,
 * e.g. `crm__`): the server lists them once it runs, and may change them.
 */
export const checkStageTools = (
  profile: BotProfileData,
  registered: ReadonlyArray<string>,
  prefixes: ReadonlyArray<string> = []
): Effect.Effect<void, ConfigurationError> => {
  const known = new Set(registered)
  const isKnown = (tool: string) => known.has(tool) || prefixes.some((prefix) => tool.startsWith(prefix) && tool.length > prefix.length)
  const problems = profile.stages.flatMap((stage, s) =>
    stage.tools.flatMap((tool, t) =>
      isKnown(tool) ? [] : [`stages[${s}].tools[${t}]: stage "${stage.id}" allows the tool "${tool}", which is not registered`]
    )
  )
  const servers = prefixes.length === 0 ? "" : `; MCP servers: ${prefixes.map((prefix) => `${prefix}*`).join(", ")}`
  return problems.length === 0 ? Effect.void : Effect.fail(
    new ConfigurationError({
      source: profile.source,
      message: `${problems.join("\n")}\nregistered tools: ${registered.join(", ") || "none"}${servers}`
    })
  )
}

/** The price of a model: its own, or that of the longest name it starts with. */
export const priceOf = (prices: Readonly<Record<string, ModelPrice>> = {}, model: string): ModelPrice | undefined => {
  const exact = prices[model]
  if (exact !== undefined) return exact
  let best: string | undefined
  for (const name in prices) if (model.startsWith(name) && (best === undefined || name.length > best.length)) best = name
  return best === undefined ? undefined : prices[best]
}

/** What tokens cost at a price, in US dollars. */
export const costOf = (
  price: ModelPrice | undefined,
  tokens: { readonly promptTokens: number; readonly cachedPromptTokens: number; readonly completionTokens: number }
): number =>
  price === undefined ? 0 : (
    (tokens.promptTokens - tokens.cachedPromptTokens) * price.input +
    tokens.cachedPromptTokens * (price.cachedInput ?? price.input) +
    tokens.completionTokens * price.output
  ) / 1_000_000
