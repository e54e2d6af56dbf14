/**
 * `/human`: the customer asks for a person. With `HANDOFF_CHAT_ID` a colleague's topic is
 * opened and the customer told so (`handoffStarted`); otherwise, or when the topic cannot be
 * opened, the request is recorded and announced (`handoffRequested`). The text after the
 * command, if any, is the reason the operators see.
 */
import { Effect } from "effect"
import { Handoff } from "../handoff/Handoff.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { defineCommand } from "./Command.ts"

export const humanCommand = defineCommand({
  name: "human",
  description: "talk to a person",
  handler: ({ args, businessConnectionId, chatId, from, threadId, updateId, userId }) =>
    Effect.gen(function*() {
      const profile = yield* BotProfile
      const started = yield* (yield* Handoff).start({
        conversation: {
          chatId,
          ...(threadId === undefined ? {} : { threadId }),
          ...(businessConnectionId === undefined ? {} : { businessConnectionId })
        },
        userId,
        user: from === undefined ? undefined : {
          id: from.id,
          firstName: from.first_name,
          lastName: from.last_name,
          username: from.username,
          languageCode: from.language_code
        },
        reason: args === "" ? "asked for a person with /human" : args,
        updateId
      })
      const texts = yield* userTexts(profile)
      return started._tag === "Topic" ? texts.handoffStarted : texts.handoffRequested
    })
})
