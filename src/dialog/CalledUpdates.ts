/**
 * The updates that start a turn from another chat: a guest message (`GuestTurns.ts`) and an
 * inline result the user sent (`InlineQueries.ts`). Such a turn is a dialog like any other, but
 * its notices and its answer go where the user sees them (`CalledTurn.ts`), and the budget and
 * the bans are those of the user who called the bot.
 */
import { Effect, Either, Option } from "effect"
import { guestConversation } from "../domain/Caller.ts"
import { commitAnswer } from "../domain/CurrentUpdate.ts"
import { type ChosenInlineResult, type Message, messageText, type TelegramId, type User } from "../domain/Update.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { plain } from "../telegram/format/FormattedText.ts"
import type { Admission } from "./Admission.ts"
import type { CalledSite } from "./CalledTurn.ts"
import type { GuestTurns } from "./GuestTurns.ts"
import type { InlineQueries } from "./InlineQueries.ts"
import { type DialogTurn, type Outcome, type PipelineError, skipped } from "./Outcome.ts"

export const makeCalledUpdates = (parts: {
  readonly guests: GuestTurns
  readonly inline: InlineQueries
  readonly admission: Admission
  readonly turn: DialogTurn
}) =>
  Effect.map(BotProfile, (profile) => {
    const { admission, guests, inline, turn } = parts

    const onCalled = (updateId: TelegramId, message: Message, from: User, text: Option.Option<string>, site: CalledSite) =>
      Effect.gen(function*() {
        if (from.is_bot) return skipped("not from a user")
        const notice = (notice: string) => Effect.zipRight(commitAnswer, site.deliver(plain(notice)))
        const texts = yield* userTexts(profile)
        if (Option.isNone(text)) return yield* Effect.as(notice(texts.textOnly), { _tag: "Replied", reason: "text-only" } as const)
        if (text.value.trim() === "") return yield* Effect.as(notice(texts.emptyMessage), { _tag: "Replied", reason: "empty" } as const)
        const standing = yield* admission.admitted((_, refusal) => notice(refusal), from.id, from.id, from.id)
        if (Either.isLeft(standing)) return { _tag: "Replied", reason: standing.left } as const
        return yield* turn(updateId, message, from, text.value, standing.right, {}, site)
      })

    /** A guest message (`guestQueryOf`): answered with the guest query's answer. */
    const guest = (updateId: TelegramId, guest: { readonly message: Message; readonly queryId: string; readonly caller: User }) =>
      Effect.scoped(Effect.flatMap(
        guests.site(guest.queryId, guestConversation(guest.message, guest.caller)),
        (site) => onCalled(updateId, guest.message, guest.caller, messageText(guest.message), site)
      ))

    /** A sent inline result: answered in the sent message. */
    const chosen = (updateId: TelegramId, result: ChosenInlineResult): Effect.Effect<Outcome, PipelineError> =>
      Option.match(inline.chosen(result), {
        onNone: () => Effect.succeed(skipped("chosen_inline_result without an inline message to edit")),
        onSome: ({ message, site }) => onCalled(updateId, message, result.from, Option.some(result.query), site)
      })

    return { guest, chosen }
  })
