/**
 * Who may reach the model at all: not a user banned with `/ban` in the admin chat, and with
 * `ALLOWED_USERS` set only those users and the members of `ADMIN_CHAT_ID`. A refused user gets
 * one notice (the profile's `banned` or `notAllowed`), remembered in the store so that neither
 * a restart nor another replica sends it again. Both are kept in `ConversationState` (so in
 * every store, with no table of their own):
 *
 * - `ban:<user id>`: the ban (why, when, by whom);
 * - `access-notice:<user id>`: which notice the user got (`banned` or `notAllowed`).
 *
 * The notice is remembered before it is sent: a crash between the two loses it rather than
 * sending it twice. `/unban` removes both, so a later ban is noticed again.
 */
import { Effect, Option, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import { TelegramId } from "../domain/Update.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { ConversationState, type ConversationStateService } from "../store/ConversationState.ts"
import { UsageConfig } from "../usage/UsageConfig.ts"

/** A user the bot does not talk to. */
export const BanRecord = Schema.Struct({
  userId: TelegramId,
  /** What the admin wrote after the id; empty when nothing. */
  reason: Schema.String,
  /** When (epoch millis) and by whom. */
  at: Schema.Number,
  by: TelegramId
})
export type BanRecord = typeof BanRecord.Type

const StoredBan = Schema.parseJson(BanRecord)
const Notice = Schema.Literal("banned", "notAllowed")
type Notice = typeof Notice.Type

const banKey = (userId: TelegramId) => `ban:${userId}`
const noticeKey = (userId: TelegramId) => `access-notice:${userId}`

export interface Bans {
  /** The ban of a user, if banned. */
  readonly get: (userId: TelegramId) => Effect.Effect<Option.Option<BanRecord>, StoreError>
  /** Bans a user (banning again replaces the reason). */
  readonly ban: (record: BanRecord) => Effect.Effect<void, StoreError>
  /** Lifts a ban and forgets its notice; whether the user was banned. */
  readonly unban: (userId: TelegramId) => Effect.Effect<boolean, StoreError>
}

export const makeBans = (state: ConversationStateService): Bans => ({
  get: (userId) => Effect.map(state.get(banKey(userId)), Option.flatMap(Schema.decodeUnknownOption(StoredBan))),
  ban: (record) => state.put(banKey(record.userId), Schema.encodeSync(StoredBan)(record)),
  unban: (userId) => Effect.zipLeft(state.remove(banKey(userId)), state.remove(noticeKey(userId)))
})

/** The bans over the `ConversationState` of the context. */
export const bansOfContext = Effect.map(ConversationState, makeBans)

/** Whether a user may reach the model; refused, the notice to send (none when it was sent before). */
export type Access =
  | { readonly _tag: "Admitted" }
  | { readonly _tag: "Refused"; readonly reason: "banned" | "not-allowed"; readonly notice: Option.Option<string> }

const admitted: Access = { _tag: "Admitted" }

/** The access gate; `isAdmin` says whether a user is a member of the admin chat. */
export const makeAccessGate = (isAdmin: (userId: TelegramId, chatId: TelegramId) => Effect.Effect<boolean>) =>
  Effect.gen(function*() {
    const state = yield* ConversationState
    const config = yield* UsageConfig
    const profile = yield* BotProfile
    const bans = makeBans(state)
    const allowed = Option.map(config.allowedUsers, (ids) => new Set(ids))

    /** The notice of `kind`, unless the user got it already (then remembered as sent). */
    const noticeOnce = (userId: TelegramId, kind: Notice): Effect.Effect<Option.Option<string>, StoreError> =>
      Effect.gen(function*() {
        const sent = Option.flatMap(yield* state.get(noticeKey(userId)), Schema.decodeUnknownOption(Notice))
        if (Option.contains(sent, kind)) return Option.none()
        yield* state.put(noticeKey(userId), kind)
        return Option.some((yield* userTexts(profile))[kind])
      })

    const refused = (userId: TelegramId, kind: Notice) =>
      Effect.map(noticeOnce(userId, kind), (notice): Access => ({
        _tag: "Refused",
        reason: kind === "banned" ? "banned" : "not-allowed",
        notice
      }))

    const check = (userId: TelegramId, chatId: TelegramId): Effect.Effect<Access, StoreError> =>
      Effect.gen(function*() {
        if (Option.isSome(yield* bans.get(userId))) return yield* refused(userId, "banned")
        if (Option.isNone(allowed) || allowed.value.has(userId) || (yield* isAdmin(userId, chatId))) return admitted
        return yield* refused(userId, "notAllowed")
      })

    return { check }
  })
