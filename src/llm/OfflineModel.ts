/**
 * A deterministic model that runs with no network and no key, for demos and first runs. It
 * classifies by the profile's stage keywords, calls tools when the text asks for them (several
 * at once when it asks for several things; a team's own tools by the words they share with the
 * text, see offlineTools.ts), and composes its answer from the tool results.
 * Its first reply in a chat says that it is the offline model.
 */
import { Effect, Layer } from "effect"
import { BotProfile, type BotProfileData } from "../profile/BotProfile.ts"
import { notesHeading, toolResultsHeading } from "./findings.ts"
import { extractiveSummary } from "./summaryText.ts"
import { showWords } from "./streaming.ts"
import {
  type ChatMessage,
  type CompletionRequest,
  type CompletionResponse,
  LanguageModel,
  type ToolCall,
  type ToolSpec
} from "./LanguageModel.ts"
import { callSpan } from "./callSpan.ts"
import { planTeamToolCall } from "./offlineTools.ts"

export const offlineNotice =
  "(I'm the built-in offline demo model: my answers come from simple rules and the knowledge base. Set OPENAI_API_KEY or OPENAI_BASE_URL to use a real language model.)"

const lastUser = (messages: ReadonlyArray<ChatMessage>): string => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.role === "user") return m.content
  }
  return ""
}

/** What the last user message carried besides text, in words ("a voice note of 7 seconds"). */
const lastReceived = (messages: ReadonlyArray<ChatMessage>): ReadonlyArray<string> => {
  for (let i = messages.length - 1; i >= 0; i--) {
    const m = messages[i]!
    if (m.role === "user") return m.received ?? []
  }
  return []
}

/** The offline model's plain account of media it cannot understand. */
export const describeReceived = (received: ReadonlyArray<string>): string => {
  const items = received.length <= 1
    ? received.join("")
    : `${received.slice(0, -1).join(", ")} and ${received.at(-1)!}`
  const it = received.length === 1 && !/^\d+ /.test(received[0]!) ? "it" : "them"
  return `I received ${items}. I can't understand ${it} myself: a real language model is needed for that (set OPENAI_API_KEY or OPENAI_BASE_URL).`
}

const countWords = (text: string) => text.length / 4

const response = (text: string | null, toolCalls: ReadonlyArray<ToolCall>, messages: ReadonlyArray<ChatMessage>) => ({
  text,
  toolCalls,
  model: "offline",
  usage: {
    promptTokens: Math.ceil(messages.reduce((n, m) => n + countWords(m.content ?? ""), 0)),
    completionTokens: Math.ceil(countWords(text ?? "")),
    cachedPromptTokens: 0,
    reasoningTokens: 0
  }
}) satisfies CompletionResponse

export const classifyByKeywords = (profile: BotProfileData, text: string): string => {
  const lower = text.toLowerCase()
  let best = { id: profile.defaultStage, score: 0 }
  for (const stage of profile.stages) {
    const score = stage.keywords.reduce((n, k) => (lower.includes(k.toLowerCase()) ? n + k.length : n), 0)
    if (score > best.score) best = { id: stage.id, score }
  }
  return best.id
}

const namePatterns = [
  /\bmy name is\s+([\p{L}][\p{L}'’-]*(?:\s+[\p{Lu}][\p{L}'’-]*)?)/iu,
  /\bcall me\s+([\p{L}][\p{L}'’-]*)/iu,
  /меня зовут\s+([\p{L}][\p{L}'’-]*(?:\s+[\p{Lu}][\p{L}'’-]*)?)/iu
]
const phonePattern = /\+?\d[\d ()-]{5,20}\d/
// Bounded parts (an address is at most 64 + 255 characters): with open-ended ones a long text
// without an "@" takes time quadratic in its length to scan.
const emailPattern = /[^\s@,;]{1,64}@[^\s@,;]{1,255}\.[a-z]{2,63}/i
const aboutMe = /about me|who am i|my name\?|what(?:'s| is) my name|remember (?:me|my)|как меня зовут|обо мне|помните/i
const human = /\b(human|person|operator|manager|agent)\b|человек|оператор|менеджер/i
const timeQuestion = /what time|time is it|current time|который час|сколько времени|今何時|何時/i
const wantsInfo = /\?|？|\b(how|what|when|where|which|do you|can i|please|want|need|tell me)\b|хочу|как |сколько|где|когда|можно/i

/** The built-in tools the rules below know; any other tool offered is a team's own. */
const ruleTools: ReadonlyArray<string> = [
  "update_client_profile",
  "request_human_handoff",
  "get_client_profile",
  "get_current_time",
  "search_knowledge_base"
]

/** The tool calls the offline model makes for a user text, among the tools it was offered. */
export const planToolCalls = (text: string, tools: ReadonlyArray<ToolSpec>): ReadonlyArray<ToolCall> => {
  const offered = tools.map((tool) => tool.name)
  const calls: Array<{ name: string; args: Record<string, unknown> | string }> = []
  const offer = (name: string, args: Record<string, unknown>) => {
    if (offered.includes(name)) calls.push({ name, args })
  }
  const team = planTeamToolCall(text, tools.filter((tool) => !ruleTools.includes(tool.name)))
  const profile: Record<string, string> = {}
  for (const pattern of namePatterns) {
    const name = pattern.exec(text)?.[1]
    if (name) {
      profile.name = name.trim()
      break
    }
  }
  const phone = phonePattern.exec(text)?.[0]
  if (phone) profile.phone = phone.trim()
  const email = emailPattern.exec(text)?.[0]
  if (email) profile.email = email
  if (Object.keys(profile).length > 0) offer("update_client_profile", profile)
  if (human.test(text)) offer("request_human_handoff", { reason: text.slice(0, 200) })
  else if (aboutMe.test(text)) offer("get_client_profile", {})
  else if (timeQuestion.test(text)) offer("get_current_time", {})
  // A team's tool that fits the text answers it; the knowledge base is the answer of last resort.
  else if (team !== undefined) calls.push({ name: team.name, args: team.arguments })
  else if (wantsInfo.test(text)) offer("search_knowledge_base", { query: text.slice(0, 500) })
  return calls.map((c, i) => ({
    id: `offline_${i + 1}`,
    name: c.name,
    arguments: typeof c.args === "string" ? c.args : JSON.stringify(c.args)
  }))
}

type Json = Record<string, unknown>

const parse = (content: string): Json => {
  try {
    const value: unknown = JSON.parse(content)
    return typeof value === "object" && value !== null ? (value as Json) : {}
  } catch {
    return {}
  }
}

/** A team's tool result as a person reads it: `Order status: order id NW-1001, status shipped.` */
const teamToolResult = (name: string, value: Json, content: string): string => {
  const title = name.replace(/^(get|fetch|find|lookup|look_up|check)_/, "").replace(/_/g, " ")
  const fields = Object.entries(value).filter(([, v]) => v !== undefined && v !== null)
  const said = fields.length > 0
    ? fields.map(([k, v]) => `${k.replace(/_/g, " ")} ${typeof v === "object" ? JSON.stringify(v) : String(v)}`).join(", ")
    : content
  return `${title.charAt(0).toUpperCase()}${title.slice(1)}: ${said}.`
}

/** One sentence or paragraph per tool result, in the order the tools were called. */
export const composeFromResults = (results: ReadonlyArray<{ readonly name: string; readonly content: string }>) =>
  results.map(({ content, name }) => {
    const value = parse(content)
    if (typeof value.error === "string") return `I couldn't complete that step (${value.error}).`
    switch (name) {
      case "update_client_profile": {
        const p = (value.profile ?? {}) as Json
        const saved = Array.isArray(value.saved) ? value.saved.join(" and ") : "details"
        return `Thank you${typeof p.name === "string" ? `, ${p.name}` : ""}! I've saved your ${saved}.`
      }
      case "get_client_profile": {
        const facts = ["name", "phone", "email", "notes"].flatMap((k) =>
          typeof value[k] === "string" ? [`${k}: ${value[k] as string}`] : []
        )
        return facts.length > 0
          ? `Here is what I know about you — ${facts.join(", ")}.`
          : `I only know your Telegram name${typeof value.telegramName === "string" ? `, ${value.telegramName}` : ""}. Tell me your name and phone if you'd like me to remember them.`
      }
      case "request_human_handoff":
        return "I've asked a human colleague to join this conversation; they will answer you here soon."
      case "get_current_time":
        return `It's ${String(value.local)} (${String(value.timeZone)}).`
      case "search_knowledge_base": {
        const sections = Array.isArray(value.sections) ? (value.sections as Array<Json>) : []
        return sections.length > 0
          ? sections.map((s) => `${String(s.title)}: ${String(s.text)}`).join("\n\n")
          : "I couldn't find that in my notes. If you like, I can ask a human colleague to help."
      }
      default:
        return teamToolResult(name, value, content)
    }
  }).join("\n\n")

const toolResultsSinceLastUser = (messages: ReadonlyArray<ChatMessage>) => {
  const names = new Map<string, string>()
  const results: Array<{ name: string; content: string }> = []
  let sawUser = false
  for (const m of messages) {
    if (m.role === "user") {
      sawUser = true
      results.length = 0
    } else if (sawUser && m.role === "assistant") {
      for (const call of m.toolCalls ?? []) names.set(call.id, call.name)
    } else if (sawUser && m.role === "tool") {
      results.push({ name: names.get(m.toolCallId) ?? "tool", content: m.content })
    }
  }
  return results
}

const notesOf = (messages: ReadonlyArray<ChatMessage>): string | undefined => {
  for (const m of messages) {
    if (m.role === "system" && m.content.startsWith(notesHeading)) {
      const body = m.content.slice(notesHeading.length)
      const notes = body.split(`\n${toolResultsHeading}`)[0]?.trim()
      return notes === undefined || notes === "(none)" ? undefined : notes
    }
  }
  return undefined
}

/** A message that only greets ("hi", "Hello!", "good morning", "привет"). */
const greetingOnly = /^(hi|hello|hey|hiya|good (morning|afternoon|evening)|привет|здравствуй(те)?|добрый (день|вечер)|доброе утро)[\s!.,)]*$/iu

export const makeOfflineModel = Effect.map(BotProfile, (profile) => {
  // What the bot can do, in the words the profile uses for its users (the help text's first paragraph).
  const helpLead = profile.texts.help.split(/\n\s*\n/)[0]?.trim() ?? profile.texts.help
  const generic = (text: string) =>
    greetingOnly.test(text.trim()) ? profile.texts.greeting : `Thanks for your message! ${helpLead}`
  const complete = (request: CompletionRequest): CompletionResponse => {
    const { messages } = request
    const text = lastUser(messages)
    switch (request.purpose) {
      case "classify":
        return response(classifyByKeywords(profile, text), [], messages)
      case "think": {
        const results = toolResultsSinceLastUser(messages)
        if (results.length > 0) return response(composeFromResults(results), [], messages)
        const calls = planToolCalls(text, request.tools ?? [])
        return response(calls.length > 0 ? null : "", calls, messages)
      }
      case "synthesize": {
        const firstReply = !messages.some((m) => m.role === "assistant")
        const received = lastReceived(messages)
        const notes = notesOf(messages)
        const answer = received.length > 0
          ? [describeReceived(received), ...(notes === undefined ? [] : [notes])].join("\n\n")
          : notes ?? generic(text)
        return response(firstReply ? `${answer}\n\n${offlineNotice}` : answer, [], messages)
      }
      case "summary":
        return response(extractiveSummary(messages), [], messages)
    }
  }
  return LanguageModel.of({
    description: "offline (built-in rules, no network)",
    // The composed answer word by word, as a real model streams it.
    stream: (request, onText) =>
      Effect.sync(() => {
        const response = complete(request)
        showWords(response.text ?? "", onText)
        return response
      }).pipe(callSpan(request.purpose, "offline", true)),
    complete: (request) => Effect.sync(() => complete(request)).pipe(callSpan(request.purpose, "offline"))
  })
})

/** The offline model over the bot's profile. */
export const LanguageModelOffline = Layer.effect(LanguageModel, makeOfflineModel)
