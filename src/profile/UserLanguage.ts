/**
 * The user's language: the fixed texts a user reads are the profile's variants in the language
 * of their Telegram app (`from.language_code`, "ru-RU" → "ru"), or the profile's default
 * language when the profile has none in theirs. The language is set per update
 * (`CurrentLanguage`, by the pipeline) and read where a text is sent; texts for operators
 * (the handoff chat, the admin chat) stay in the profile's default language.
 */
import { Effect, FiberRef, Option } from "effect"
import type { Update, User } from "../domain/Update.ts"
import type { BotProfileData, ProfileTexts } from "./BotProfile.ts"
import { locally } from "../effect/locallyAll.ts"

/** The language of the user the current update is from; none outside an update or for an app that sends none. */
export const CurrentLanguage: FiberRef.FiberRef<Option.Option<string>> = FiberRef.unsafeMake(Option.none<string>())

/** A `language_code` as the profile keys its texts: lower case, up to its first `-` or `_`. */
export const languageOf = (code: string | undefined): Option.Option<string> =>
  Option.filter(Option.fromNullable(code?.trim().toLowerCase().split(/[-_]/)[0]), (language) => language !== "")

/** The user an update is from, when it says. */
const userOf = (update: Update): User | undefined =>
  (update.message ?? update.edited_message ?? update.business_message ?? update.edited_business_message)?.from ??
    update.callback_query?.from ?? update.pre_checkout_query?.from ?? update.my_chat_member?.from ??
    update.guest_message?.from ?? update.inline_query?.from ?? update.chosen_inline_result?.from

/** The language of the user an update is from. */
export const updateLanguage = (update: Update): Option.Option<string> => languageOf(userOf(update)?.language_code)

/** The languages a profile has texts in: its default first. */
export const profileLanguages = (profile: BotProfileData): ReadonlyArray<string> => [
  profile.language,
  ...Object.keys(profile.translations).filter((language) => language !== profile.language)
]

/** The profile's texts in `language`: its variants there, the default language's for the rest. */
export const textsIn = (profile: BotProfileData, language: Option.Option<string>): ProfileTexts => {
  const translated = Option.isSome(language) ? profile.translations[language.value] : undefined
  return translated === undefined ? profile.texts : { ...profile.texts, ...translated }
}

/** The profile's texts in the current update's user's language. */
export const userTexts = (profile: BotProfileData): Effect.Effect<ProfileTexts> =>
  Effect.map(FiberRef.get(CurrentLanguage), (language) => textsIn(profile, language))

/** `effect` with the user's language of `update` as the current one. */
export const inLanguageOf = (update: Update) => <A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  locally(CurrentLanguage, updateLanguage(update))(effect)
