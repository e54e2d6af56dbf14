/**
 * The built-in commands: `/start` greets, `/help` shows the profile's help text, `/clear`
 * forgets the conversation's history (the chat's, or the forum topic's), `/human` hands the
 * conversation to a colleague, `/usage` tells the asker their tokens (`usageCommand.ts`), `/buy`
 * and `/refund` are Telegram Stars (`paymentCommands.ts`), `/model` and `/persona` choose among the
 * profile's models and personas (`choiceCommands.ts`), `/memory` and `/forget` show and clear what
 * the bot remembers about the asker (`memoryCommands.ts`), `/stats`, `/grant`, `/ban` and
 * `/unban` are for the admin chat (`adminCommands.ts`).
 * Their replies are the profile's texts.
 */
import { Effect, Option } from "effect"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { defineCommand } from "./Command.ts"
import { humanCommand } from "./humanCommand.ts"
import { modelCommand, personaCommand } from "./choiceCommands.ts"
import { forgetCommand, memoryCommand } from "./memoryCommands.ts"
import { banCommand, grantCommand, statsCommand, unbanCommand } from "./adminCommands.ts"
import { buyCommand, refundCommand } from "./paymentCommands.ts"
import { usageCommand } from "./usageCommand.ts"

export const startCommand = defineCommand({
  name: "start",
  description: "greeting",
  handler: () => Effect.map(Effect.flatMap(BotProfile, userTexts), (texts) => texts.greeting)
})

export const helpCommand = defineCommand({
  name: "help",
  description: "what the bot can do",
  handler: () => Effect.map(Effect.flatMap(BotProfile, userTexts), (texts) => texts.help)
})

/** The saved details `/clear` keeps, in the order they are named. */
const keptDetails = ["name", "phone", "email"] as const

export const clearCommand = defineCommand({
  name: "clear",
  description: "forget our conversation",
  handler: ({ chatId, threadId, userId }) =>
    Effect.gen(function*() {
      const texts = yield* Effect.flatMap(BotProfile, userTexts)
      // The conversation's history: the chat's, or the forum topic's the command was written in.
      const count = yield* Effect.flatMap(HistoryStore, (history) => history.clear({ chatId, threadId }))
      const cleared = texts.cleared.replaceAll("{count}", String(count))
      // Only what the client really told the bot is said to be kept.
      const client = yield* Effect.flatMap(ClientStore, (clients) => clients.get(userId))
      const kept = Option.match(client, {
        onNone: () => [],
        onSome: (c) => keptDetails.filter((field) => (c.profile[field] ?? "").trim() !== "")
      })
      return kept.length === 0 ? cleared : `${cleared} ${texts.clearedKept.replaceAll("{details}", kept.join(", "))}`
    })
})

/** The built-in commands, in the order a command menu lists them (`/human`: `humanCommand.ts`). */
export const builtinCommands = [startCommand, helpCommand, clearCommand, humanCommand, usageCommand, buyCommand, refundCommand, modelCommand, personaCommand, memoryCommand, forgetCommand, statsCommand, grantCommand, banCommand, unbanCommand] as const
