/**
 * The model and persona a user chose among the profile's (`models`, `personas`): `/model` and
 * `/persona` answer with an inline keyboard, a button's `callback_query` keeps the choice in
 * `ConversationState` under `choice:<user id>` (the names, as JSON) and is answered with
 * `answerCallbackQuery`. The next turn reads it: the model id for the think and synthesize
 * steps, the persona's text at the opening of the prompt. A name the profile no longer lists
 * counts as no choice; a button of one (an old keyboard) is answered so and changes nothing.
 */
import { Effect, Option, Schema } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { CallbackQuery, TelegramId } from "../domain/Update.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import type { ModelChoice, PersonaChoice } from "../profile/choiceTexts.ts"
import { ConversationState } from "../store/ConversationState.ts"
import type { Destination } from "../domain/Destination.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"

export type ChoiceKind = "model" | "persona"

/** A user's choices as the profile has them now; none is the profile's own model or persona. */
export interface Choice {
  readonly model: Option.Option<ModelChoice>
  readonly persona: Option.Option<PersonaChoice>
}

/** No choice: the profile's own model and persona. */
export const noChoice: Choice = { model: Option.none(), persona: Option.none() }

const Stored = Schema.parseJson(Schema.Struct({ model: Schema.optional(Schema.String), persona: Schema.optional(Schema.String) }))
type Stored = typeof Stored.Type
const decodeStored = Schema.decodeUnknownOption(Stored)
const encodeStored = Schema.encodeSync(Stored)

const keyOf = (userId: TelegramId) => `choice:${userId}`

/** The callback data of a button: `model:<name>` or `persona:<name>` (at most 64 bytes, `choiceTexts.ts`). */
export const choiceData = (kind: ChoiceKind, name: string) => `${kind}:${name}`
const parseData = (data: string): Option.Option<{ readonly kind: ChoiceKind; readonly name: string }> => {
  const match = /^(model|persona):(.+)$/s.exec(data)
  return match === null ? Option.none() : Option.some({ kind: match[1] as ChoiceKind, name: match[2]! })
}

/** Whoever chose nothing yet, or a name no longer offered: the profile's own (shown as this). */
const standard = "standard"

export const makeChoices = Effect.gen(function*() {
  const profile = yield* BotProfile
  const state = yield* ConversationState
  const api = yield* TelegramApi
  const models = profile.models ?? []
  const personas = profile.personas ?? []
  const offered = (kind: ChoiceKind): ReadonlyArray<{ readonly name: string }> => (kind === "model" ? models : personas)
  const find = <A extends { readonly name: string }>(list: ReadonlyArray<A>, name: string | undefined) =>
    Option.fromNullable(list.find((entry) => entry.name === name))

  const stored = (userId: TelegramId): Effect.Effect<Stored, StoreError> =>
    Effect.map(state.get(keyOf(userId)), (value) => Option.getOrElse(Option.flatMap(value, decodeStored), () => ({})))

  /** The user's choices, each still offered by the profile. */
  const of = (userId: TelegramId): Effect.Effect<Choice, StoreError> =>
    // A profile that offers nothing to choose costs its turns no store read.
    models.length === 0 && personas.length === 0
      ? Effect.succeed(noChoice)
      : Effect.map(stored(userId), (s) => ({ model: find(models, s.model), persona: find(personas, s.persona) }))

  /** `/model` or `/persona`: the keyboard of the profile's choices sent to `to`; the reply text when there are none. */
  const ask = (kind: ChoiceKind, to: Destination, userId: TelegramId) =>
    Effect.gen(function*() {
      const list = offered(kind)
      const texts = yield* userTexts(profile)
      if (list.length === 0) return texts.noChoice
      const current = Option.getOrElse(find(list, (yield* stored(userId))[kind]), () => ({ name: standard })).name
      const prompt = kind === "model" ? texts.modelPrompt : texts.personaPrompt
      yield* api.sendMessage({
        ...to,
        text: prompt.replaceAll("{current}", current),
        inlineKeyboard: list.map((entry) => [{ text: entry.name, callbackData: choiceData(kind, entry.name) }])
      }).pipe(Effect.catchAll((e) => Effect.logWarning(`the ${kind} keyboard was not sent: ${e.message}`)))
      // The keyboard is the answer.
      return ""
    })

  /** A button of a choice keyboard: kept and answered; none for the buttons of others. */
  const callback = (query: CallbackQuery): Effect.Effect<Option.Option<string>, StoreError> =>
    Effect.gen(function*() {
      const parsed = parseData(query.data ?? "")
      if (Option.isNone(parsed)) return Option.none()
      const { kind, name } = parsed.value
      const texts = yield* userTexts(profile)
      const answer = (text: string) =>
        api.answerCallbackQuery(query.id, text).pipe(Effect.catchAll((e) => Effect.logWarning(`answerCallbackQuery failed: ${e.message}`)))
      if (Option.isNone(find(offered(kind), name))) {
        yield* answer(texts.choiceStale)
        return Option.some(`choice: ${kind} no longer offered`)
      }
      const userId = query.from.id as TelegramId
      yield* state.put(keyOf(userId), encodeStored({ ...(yield* stored(userId)), [kind]: name }))
      yield* answer(texts.choiceSaved.replaceAll("{name}", name))
      return Option.some(`choice: ${kind} ${name}`)
    })

  return { of, ask, callback }
})

/** The users' choices as the pipeline and its routes share them (one per pipeline). */
export type Choices = Effect.Effect.Success<typeof makeChoices>
