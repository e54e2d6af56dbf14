/**
 * The apology: what the user reads when their update could not be answered (its deadline
 * passed, the dialog failed past its fallbacks, a dependency stayed down), so that nobody is left
 * without an answer; the update's runner sends it (`runtime/UpdateRunner.ts`). It goes where
 * the update would have been answered: the chat of its message, the guest query not answered
 * yet, the message of a sent inline result. It is best effort: at most 10 seconds, and a
 * failure to send it is logged, never raised (the update is over either way).
 */
import { Effect, Option } from "effect"
import { guestQueryOf } from "../domain/Caller.ts"
import { destinationOf } from "../domain/Destination.ts"
import type { Update } from "../domain/Update.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { textsIn, updateLanguage } from "../profile/UserLanguage.ts"
import { plain } from "../telegram/format/FormattedText.ts"
import { Messenger, type SendError } from "../telegram/Messenger.ts"
import type { GuestTurns } from "./GuestTurns.ts"
import type { InlineQueries } from "./InlineQueries.ts"
import { dialogMessage } from "./Outcome.ts"

export const makeApology = (parts: { readonly guests: GuestTurns; readonly inline: InlineQueries }) =>
  Effect.gen(function*() {
    const { guests, inline } = parts
    const profile = yield* BotProfile
    const messenger = yield* Messenger

    /** Sends the apology where `update` is answered; nothing for an update that has no such place. */
    return (update: Update): Effect.Effect<void> => {
      const apology = textsIn(profile, updateLanguage(update)).apology
      const chosen = Option.flatMap(Option.fromNullable(update.chosen_inline_result), inline.chosen)
      const send: Option.Option<Effect.Effect<void, SendError>> = Option.firstSomeOf([
        Option.map(guestQueryOf(update), (guest) => Effect.asVoid(guests.answer(guest.queryId, plain(apology)))),
        Option.map(chosen, ({ site }) => site.deliver(plain(apology))),
        Option.map(dialogMessage(update), (message) => Effect.asVoid(messenger.reply(destinationOf(message), apology)))
      ])
      return Option.match(send, {
        onNone: () => Effect.void,
        onSome: (sending) =>
          sending.pipe(
            Effect.timeout("10 seconds"),
            Effect.catchAll((e) => Effect.logWarning(`apology not sent: ${e._tag}`))
          )
      })
    }
  })
