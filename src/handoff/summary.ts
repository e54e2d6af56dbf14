/** What operators see of a handed-off customer: the topic's name, its first message and its button. */
import type { Client, HistoryMessage } from "../domain/Dialog.ts"
import type { InlineButton } from "../telegram/BotApiMethods.ts"

/** The callback data of the "Back to bot" button under a topic's first message. */
export const backToBotData = "handoff:done"

export const backButton = (text: string): InlineButton => ({ text, callbackData: backToBotData })

/** The client's name: the one they told the bot, else their Telegram name. */
export const clientName = (client: Client): string =>
  client.profile.name ?? [client.firstName, client.lastName].filter((part) => part !== undefined && part !== "").join(" ")

/** Longest line of history in the summary, and the longest summary (Telegram takes 4096 characters). */
const lineLimit = 300
const summaryLimit = 4000

const cut = (text: string, limit: number) => (text.length <= limit ? text : `${text.slice(0, limit - 1)}…`)

/** A topic name from the profile's `handoffTopic` (Telegram takes 1 to 128 characters). */
export const topicName = (template: string, client: Client): string =>
  cut(template.replaceAll("{name}", clientName(client)).replaceAll("{id}", String(client.id)), 128).trim() || String(client.id)

export interface SummaryParts {
  readonly client: Client
  readonly reason: string
  readonly stage: string | undefined
  /** The conversation's last messages, oldest first. */
  readonly history: ReadonlyArray<HistoryMessage>
}

/** The topic's first message from the profile's `handoffSummary`: who, why, the stage and the last messages. */
export const summaryText = (template: string, parts: SummaryParts): string => {
  const name = clientName(parts.client)
  const lines = parts.history.map((m) =>
    `${m.role === "assistant" ? "Bot" : m.speaker ?? name}: ${cut(m.text.replaceAll("\n", " "), lineLimit)}`
  )
  const text = template
    .replaceAll("{name}", name)
    .replaceAll("{username}", parts.client.username === undefined ? "" : `@${parts.client.username} `)
    .replaceAll("{id}", String(parts.client.id))
    .replaceAll("{reason}", parts.reason)
    .replaceAll("{stage}", parts.stage ?? "—")
    .replaceAll("{history}", lines.length === 0 ? "—" : lines.join("\n"))
  return cut(text, summaryLimit)
}
