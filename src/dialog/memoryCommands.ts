/** `/memory` shows the facts the bot keeps about the asker, `/forget` clears them (`tools/builtin/userMemory.ts`). */
import { Effect } from "effect"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { clearMemory, memoryOf } from "../tools/builtin/userMemory.ts"
import { defineCommand } from "./Command.ts"

export const memoryCommand = defineCommand({
  name: "memory",
  description: "what the bot remembers about you",
  handler: ({ userId }) =>
    Effect.gen(function*() {
      const texts = yield* Effect.flatMap(BotProfile, userTexts)
      const facts = yield* memoryOf(userId)
      return facts.length === 0 ? texts.memoryEmpty : texts.memoryShown.replaceAll("{facts}", facts.map((f) => `- ${f}`).join("\n"))
    })
})

export const forgetCommand = defineCommand({
  name: "forget",
  description: "forget what the bot remembers about you",
  handler: ({ userId }) =>
    Effect.gen(function*() {
      const texts = yield* Effect.flatMap(BotProfile, userTexts)
      return texts.memoryForgotten.replaceAll("{count}", String(yield* clearMemory(userId)))
    })
})
