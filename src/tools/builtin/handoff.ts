/** Asks for a human: recorded on the client, and announced in the admin chat when one is set. */
import { Effect, Option, Schema } from "effect"
import { ToolsConfig } from "../ToolsConfig.ts"
import type { TelegramId } from "../../domain/Update.ts"
import { BotProfile } from "../../profile/BotProfile.ts"
import { ClientStore } from "../../store/ClientStore.ts"
import { TelegramApi } from "../../telegram/TelegramApi.ts"
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
      const clients = yield* ClientStore
      const config = yield* ToolsConfig
      const profile = yield* BotProfile
      const client = yield* clients.requestHandoff(context.userId, args.reason).pipe(
        Effect.mapError((e) => new ToolFailure({ message: `could not record the request: ${e.message}` }))
      )
      let adminNotified = false
      if (Option.isSome(config.adminChatId)) {
        const api = yield* TelegramApi
        const text = profile.texts.handoffNotice
          .replaceAll("{name}", client.profile.name ?? client.firstName)
          .replaceAll("{id}", String(client.id))
          .replaceAll("{reason}", args.reason)
        adminNotified = yield* api.sendMessage({ chatId: config.adminChatId.value as TelegramId, text }).pipe(
          Effect.as(true),
          Effect.catchAll((e) => Effect.as(Effect.logWarning(`admin chat not notified: ${e.message}`), false))
        )
      }
      return { requested: true, adminNotified }
    })
})
