/**
 * Who the bot is: its user id and `@username`, as `getMe` answers. Groups need them to tell
 * whether a message is addressed to the bot (a mention of its username, a reply to one of its
 * messages, `/help@username`). Telegram is asked once, when first needed; the answer is kept
 * for the life of the process. While Telegram does not answer, `me` is none (and asked again
 * next time), so a group message is then judged without the username rather than failing.
 */
import { Context, Effect, Layer, Option, Ref } from "effect"
import type { BotUser } from "./BotApiMethods.ts"
import { TelegramApi } from "./TelegramApi.ts"

export interface BotIdentityService {
  /** The bot's own user, from `getMe` (asked once and kept); none while Telegram does not answer. */
  readonly me: Effect.Effect<Option.Option<BotUser>>
}

export class BotIdentity extends Context.Tag("dialog-bot/BotIdentity")<BotIdentity, BotIdentityService>() {}

export const makeBotIdentity = Effect.gen(function*() {
  const api = yield* TelegramApi
  const known = yield* Ref.make(Option.none<BotUser>())
  const ask = api.getMe.pipe(
    Effect.tap((user) => Ref.set(known, Option.some(user))),
    Effect.asSome,
    Effect.catchAll((e) =>
      Effect.as(Effect.logWarning(`getMe failed, the bot's username is not known yet: ${e.message}`), Option.none<BotUser>())
    )
  )
  // Updates of several chats may need the identity at once: one of them asks, the others wait for it.
  const lock = yield* Effect.makeSemaphore(1)
  const knownOr = (otherwise: Effect.Effect<Option.Option<BotUser>>) =>
    Effect.flatMap(Ref.get(known), (me) => (Option.isSome(me) ? Effect.succeed(me) : otherwise))
  return BotIdentity.of({ me: knownOr(lock.withPermits(1)(knownOr(ask))) })
})

/** The bot's identity through the `TelegramApi` of the context. */
export const BotIdentityLive = Layer.effect(BotIdentity, makeBotIdentity)

/** A fixed identity (tests, or an entry point that asked `getMe` already). */
export const BotIdentityFixed = (user: BotUser) => Layer.succeed(BotIdentity, BotIdentity.of({ me: Effect.succeed(Option.some(user)) }))
