/**
 * The messages each stage sends to the model. Kept in one module so that the prompt a model
 * sees is easy to read and to test; nothing here calls a service.
 */
import { Option } from "effect"
import type { Client, HistoryMessage } from "../domain/Dialog.ts"
import { capToolResult, notesHeading, toolResultCharCap, toolResultsHeading } from "../llm/findings.ts"
import { foldedMessagesHeading, noSummary, previousSummaryHeading } from "../llm/summaryText.ts"
import type { ChatMessage, UserMedia } from "../llm/LanguageModel.ts"
import type { BotProfileData, Stage } from "../profile/BotProfile.ts"
import type { ToolResult } from "../tools/Tools.ts"
import type { Choice } from "./Choices.ts"

/** Whom a turn answers: the customer, and the model and persona they chose (`Choices.ts`). */
export interface Asker {
  readonly client: Client
  readonly choice: Choice
  /** The facts kept about the user (`remember`), oldest first. */
  readonly memory?: ReadonlyArray<string> | undefined
}

/** The persona that opens the prompt: the user's choice, else the profile's. */
const personaOf = (profile: BotProfileData, asker: Asker): string =>
  Option.match(asker.choice.persona, { onNone: () => profile.persona, onSome: (persona) => persona.text })

/**
 * The newest messages whose texts fit in `budget` characters, oldest first. A message longer
 * than half the budget is cut (its end kept), so one huge message cannot push out the rest.
 */
export const trimHistory = (history: ReadonlyArray<HistoryMessage>, budget: number): ReadonlyArray<HistoryMessage> => {
  const kept: Array<HistoryMessage> = []
  const perMessage = Math.max(1, Math.floor(budget / 2))
  let used = 0
  for (let i = history.length - 1; i >= 0; i--) {
    const message = history[i]!
    const text = message.text.length > perMessage ? `…${message.text.slice(-perMessage)}` : message.text
    if (used + text.length > budget) break
    used += text.length
    kept.push(text === message.text ? message : { ...message, text })
  }
  return kept.reverse()
}

/** The user's message of this turn, with the pictures and media notes it carried. */
const userTurn = (text: string, media: UserMedia): ChatMessage => ({ role: "user", content: text, ...media })

/** The history as chat messages; in a group each user message is prefixed with its speaker's name. */
export const historyMessages = (history: ReadonlyArray<HistoryMessage>): ReadonlyArray<ChatMessage> =>
  history.map((m) => ({ role: m.role, content: m.role === "user" && m.speaker !== undefined ? `${m.speaker}: ${m.text}` : m.text }))

/** Heading of the running summary in a prompt, ahead of the recent messages. */
export const summaryHeading = "Summary of the earlier conversation (its messages are no longer shown):"

/** The conversation's running summary as it opens the history of a prompt: after the stable prefix, before the recent messages. */
export const summaryContext = (summary: string): ChatMessage => ({ role: "system", content: `${summaryHeading}\n${summary}` })

/** Characters of one message given to a summary request at most. */
const foldedMessageChars = 1000

/** The instructions of a summary request (`Compaction.ts`). */
export const summaryInstructions = [
  "You keep the running summary of a conversation between a customer and the assistant.",
  "Write the new summary: the summary so far with the new messages folded in.",
  "Keep names, facts, orders, decisions, preferences and open questions; drop greetings and small talk.",
  "At most 200 words, in the language of the conversation. Answer with the summary only."
].join(" ")

/** The request for a conversation's new summary: the summary so far, then the messages that fell out of the prompt since, one a line. */
export const summaryMessages = (previous: Option.Option<string>, folded: ReadonlyArray<HistoryMessage>): ReadonlyArray<ChatMessage> => [
  { role: "system", content: summaryInstructions },
  {
    role: "user",
    content: [
      previousSummaryHeading,
      Option.getOrElse(previous, () => noSummary),
      "",
      foldedMessagesHeading,
      ...folded.map((m) => {
        const flat = m.text.replace(/\s+/g, " ").trim()
        const text = flat.length > foldedMessageChars ? `${flat.slice(0, foldedMessageChars - 1)}…` : flat
        return `${m.role === "assistant" ? "Assistant" : m.speaker ?? "User"}: ${text}`
      })
    ].join("\n")
  }
]

export const describeClient = (client: Client): string => {
  const facts = [
    `Telegram name: ${[client.firstName, client.lastName].filter(Boolean).join(" ")}`,
    client.profile.name && `name: ${client.profile.name}`,
    client.profile.phone && `phone: ${client.profile.phone}`,
    client.profile.email && `email: ${client.profile.email}`,
    client.profile.notes && `notes: ${client.profile.notes}`,
    client.languageCode && `language: ${client.languageCode}`
  ].filter((f): f is string => typeof f === "string" && f.length > 0)
  return `Customer profile — ${facts.join("; ")}.\n${languageInstruction(client)}`
}

/** The model answers in the customer's language: the one they write in, else their Telegram app's. */
export const languageInstruction = (client: Client): string =>
  `Always answer in the customer's language: the language of their messages${
    client.languageCode ? `, or else the language of their Telegram app ("${client.languageCode}")` : ""
  }, whatever the language of these instructions and of the knowledge base.`

export const classifyMessages = (
  profile: BotProfileData,
  history: ReadonlyArray<ChatMessage>,
  text: string
): ReadonlyArray<ChatMessage> => [
  {
    role: "system",
    content: [
      profile.classifierPrompt,
      "Stages:",
      ...profile.stages.map((s) => `- ${s.id}: ${s.description}`),
      `Answer with one of: ${profile.stages.map((s) => s.id).join(", ")}.`
    ].join("\n")
  },
  ...history,
  { role: "user", content: text }
]

/**
 * The opening of every prompt is the same for every conversation: the profile's texts and
 * instructions (and the tools, sent beside the messages). Providers cache such a prefix
 * (`prompt_cache_key`, `OpenAiModel.ts`): a cached prompt token costs a tenth to a half of a
 * fresh one. What changes from turn to turn or from user to user (the stage, who the customer
 * is) comes after the history, as one system message just before the user's turn. A persona a
 * user chose opens it instead of the profile's: one prefix per persona, still shared.
 */
const stablePrefix = (parts: ReadonlyArray<string>): ChatMessage => ({ role: "system", content: parts.join("\n\n") })

/** The turn's own facts, after the history: the stage (when there is one), the customer and what is kept about them. */
const turnFacts = (stage: Stage | undefined, asker: Asker): ChatMessage => ({
  role: "system",
  content: [
    ...(stage === undefined ? [] : [`Current dialog stage: ${stage.id}. ${stage.prompt}`]),
    describeClient(asker.client),
    ...(asker.memory === undefined || asker.memory.length === 0
      ? []
      : [`Remembered about this customer (remember, forget):\n${asker.memory.map((fact) => `- ${fact}`).join("\n")}`])
  ].join("\n\n")
})

/** The key under which a provider caches the profile's prefix: one per profile (at most 64 characters). */
export const promptCacheKey = (profile: BotProfileData): string => `profile:${profile.name}`.slice(0, 64)

/** The think step's instructions, the same in every stage. */
export const thinkInstructions = "Call tools when they help. When you have what you need, write short notes for the final answer."

export const thinkMessages = (
  profile: BotProfileData,
  stage: Stage,
  asker: Asker,
  history: ReadonlyArray<ChatMessage>,
  text: string,
  media: UserMedia = {}
): ReadonlyArray<ChatMessage> => [
  stablePrefix([personaOf(profile, asker), thinkInstructions]),
  ...history,
  turnFacts(stage, asker),
  userTurn(text, media)
]

/** Characters of the think step's notes given to synthesis at most. */
export const notesCharCap = 4000

/**
 * The think step's findings as one message for synthesis: its notes and each tool result,
 * each capped, so the prompt stays bounded however much the tools returned.
 */
export const renderFindings = (
  notes: string,
  results: ReadonlyArray<ToolResult>,
  maxChars: number = toolResultCharCap
): string =>
  [
    notesHeading,
    notes.trim() === "" ? "(none)" : capToolResult(notes.trim(), notesCharCap),
    "",
    toolResultsHeading,
    ...(results.length === 0 ? ["(none)"] : results.map((r) => `- ${r.name}: ${capToolResult(r.content, maxChars)}`))
  ].join("\n")

export const synthesizeMessages = (
  profile: BotProfileData,
  stage: Stage,
  asker: Asker,
  history: ReadonlyArray<ChatMessage>,
  text: string,
  findings: string,
  media: UserMedia = {}
): ReadonlyArray<ChatMessage> => [
  stablePrefix([personaOf(profile, asker), profile.synthesisPrompt]),
  ...history,
  turnFacts(stage, asker),
  userTurn(text, media),
  { role: "system", content: findings }
]

/** The last-chance generation when synthesis failed: no tools, no findings. */
export const plainMessages = (
  profile: BotProfileData,
  asker: Asker,
  history: ReadonlyArray<ChatMessage>,
  text: string,
  media: UserMedia = {}
): ReadonlyArray<ChatMessage> => [
  stablePrefix([personaOf(profile, asker)]),
  ...history,
  turnFacts(undefined, asker),
  userTurn(text, media)
]
