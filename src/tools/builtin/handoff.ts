/**
 * Asks for a human: recorded on the client; with `HANDOFF_CHAT_ID` a colleague's topic is
 * opened and the conversation handed off (`Handoff`, src/handoff/), otherwise (or when the
 * topic cannot be opened) announced in the admin chat when one is set.
 */
import { Effect, Schema } from "effect"
import { Handoff } from "../../handoff/Handoff.ts"
import { defineTool, ToolFailure } from "../Tool.ts"

export const requestHumanHandoff = defineTool({
  name: "request_human_handoff",
  description: "Asks a human colleague to take over this conversation. Use when the customer asks for a person or the problem needs one.",
  parameters: Schema.Struct({
    reason: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(500)).annotations({
      description: "Short summary of what the customer needs"
    })
  }),
  handler: (args, context) =>
    Effect.gen(function*() {
      const handoff = yield* Handoff
      const started = yield* handoff.start({
        conversation: {
          chatId: context.chatId,
          ...(context.threadId === undefined ? {} : { threadId: context.threadId }),
          ...(context.businessConnectionId === undefined ? {} : { businessConnectionId: context.businessConnectionId })
        },
        userId: context.userId,
        reason: args.reason,
        stage: context.stage,
        updateId: context.updateId
      }).pipe(Effect.mapError((e) => new ToolFailure({ message: `could not record the request: ${e.message}` })))
      if (started._tag === "Notice") return { requested: true, adminNotified: started.notified }
      // The colleague answers in this chat from now on; the bot stays quiet until they give it
      // back. Asked from a guest or inline turn, they answer in the user's private chat with the bot.
      return started.privateChat
        ? { requested: true, handedOff: true, colleagueWritesIn: "the user's private chat with the bot" }
        : { requested: true, handedOff: true }
    })
})
