/**
 * The built-in commands: `/start` greets, `/help` shows the profile's help text, `/clear`
 * forgets the chat's history. Their replies are the profile's texts.
 */
import { Effect } from "effect"
import { BotProfile } from "../profile/BotProfile.ts"
import { HistoryStore } from "../store/HistoryStore.ts"
import { defineCommand } from "./Command.ts"

export const startCommand = defineCommand({
  name: "start",
  description: "greeting",
  handler: () => Effect.map(BotProfile, (profile) => profile.texts.greeting)
})

export const helpCommand = defineCommand({
  name: "help",
  description: "what the bot can do",
  handler: () => Effect.map(BotProfile, (profile) => profile.texts.help)
})

export const clearCommand = defineCommand({
  name: "clear",
  description: "forget our conversation",
  handler: ({ chatId }) =>
    Effect.gen(function*() {
      const profile = yield* BotProfile
      const count = yield* Effect.flatMap(HistoryStore, (history) => history.clear(chatId))
      return profile.texts.cleared.replaceAll("{count}", String(count))
    })
})

/** The built-in commands, in the order a command menu lists them. */
export const builtinCommands = [startCommand, helpCommand, clearCommand] as const
