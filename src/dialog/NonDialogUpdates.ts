/**
 * The update kinds that are not a dialog and start no turn: buttons pressed (callback queries),
 * the bot's membership of a private chat (blocked or not), inline queries (answered with an
 * article that starts a turn once sent), reactions on answers (feedback), payments
 * (pre-checkout, subscription changes), business connections and their deleted messages. Each
 * is handled by the part it belongs to; the pipeline hands them here once it knows the update
 * holds no message and starts no called turn.
 */
import { Effect, Option } from "effect"
import type { ChatMemberUpdated, Update } from "../domain/Update.ts"
import { ClientStore } from "../store/ClientStore.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import type { Admission } from "./Admission.ts"
import { Business } from "./Business.ts"
import type { Choices } from "./Choices.ts"
import type { Feedback } from "./Feedback.ts"
import type { HandoffRouting } from "./HandoffRouting.ts"
import type { InlineQueries } from "./InlineQueries.ts"
import { type Outcome, type PipelineError, skipped } from "./Outcome.ts"

export const makeNonDialogUpdates = (parts: {
  readonly handoff: HandoffRouting
  readonly choices: Choices
  readonly feedback: Feedback
  readonly admission: Admission
  readonly inline: InlineQueries
}) =>
  Effect.gen(function*() {
    const { admission, choices, feedback, handoff, inline } = parts
    const api = yield* TelegramApi
    const clients = yield* ClientStore
    const business = yield* Business

    const onMembership = (change: ChatMemberUpdated): Effect.Effect<Outcome, PipelineError> => {
      const status = change.new_chat_member.status
      const blocked = status === "kicked" || status === "left"
      // Only a private chat's membership says whether the user blocked the bot.
      if (change.chat.type !== "private") return Effect.succeed({ _tag: "Skipped", reason: `membership in ${change.chat.type}` })
      return Effect.as(clients.setBlocked(change.from.id, blocked), { _tag: "Membership", blocked })
    }

    /** Handles `update` (of `kind`, `updateKind`): what became of it. */
    return (update: Update, kind: string): Effect.Effect<Outcome, PipelineError> => {
      if (update.callback_query) {
        const query = update.callback_query
        // The handoff's "Back to bot" button, a button of /model or /persona; other buttons
        // are not part of the dialog: stop the client's spinner and move on.
        const routed = Effect.flatMap(
          handoff.callback(query),
          (reason) => (Option.isSome(reason) ? Effect.succeed(reason) : choices.callback(query))
        )
        return Effect.flatMap(routed, Option.match({
          onSome: (reason) => Effect.succeed(skipped(reason)),
          onNone: () =>
            api.answerCallbackQuery(query.id).pipe(
              Effect.catchAll((e) => Effect.logWarning(`answerCallbackQuery failed: ${e.message}`)),
              Effect.as({ _tag: "Skipped", reason: "callback_query answered" } as const)
            )
        }))
      }
      if (update.my_chat_member) return onMembership(update.my_chat_member)
      if (update.inline_query) return Effect.map(inline.answer(update.update_id, update.inline_query), skipped)
      if (update.message_reaction) return Effect.map(feedback.reacted(update.message_reaction), skipped)
      if (update.pre_checkout_query) return Effect.map(admission.preCheckout(update.pre_checkout_query), skipped)
      if (update.subscription) return Effect.map(admission.subscription(update.subscription), skipped)
      if (update.business_connection) return Effect.map(business.connection(update.business_connection), skipped)
      if (update.deleted_business_messages) return Effect.map(business.deleted(update.deleted_business_messages), skipped)
      return Effect.as(Effect.logDebug(`skipped update of kind ${kind}`), { _tag: "Skipped", reason: kind } as const)
    }
  })
