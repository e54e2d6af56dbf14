/**
 * The profile's models and personas a user may choose between with `/model` and `/persona`
 * (`src/dialog/Choices.ts`), and the texts of that choice. Each text has a default, so a
 * profile without them still loads; a profile without models or personas offers no choice.
 */
import { Schema } from "effect"
import { NonEmpty, text } from "./textField.ts"

/**
 * The name of a model or persona: the button's label and, after `model:` or `persona:`, its
 * callback data, which Telegram caps at 64 bytes.
 */
const ChoiceName = NonEmpty.pipe(
  Schema.filter((name) => new TextEncoder().encode(name).length <= 48 || "expected a name of at most 48 bytes", {
    identifier: "ChoiceName"
  })
)

export const ModelChoice = Schema.Struct({
  /** What the user sees on the button, e.g. `Fast`. */
  name: ChoiceName,
  /** The model id sent to the endpoint for the think and synthesize steps, e.g. `gpt-4.1-mini`. */
  model: NonEmpty
}).annotations({ identifier: "ModelChoice" })
export type ModelChoice = typeof ModelChoice.Type

export const PersonaChoice = Schema.Struct({
  /** What the user sees on the button, e.g. `Concise`. */
  name: ChoiceName,
  /** The system text that opens the prompt instead of the profile's `persona`. */
  text: NonEmpty
}).annotations({ identifier: "PersonaChoice" })
export type PersonaChoice = typeof PersonaChoice.Type

/** The fields of a profile that list its choices. */
export const choiceFields = {
  /** Models a user may choose with `/model`; without a choice the configured models answer (`OPENAI_MODEL`…). */
  models: Schema.optional(Schema.Array(ModelChoice)),
  /** Personas a user may choose with `/persona`. */
  personas: Schema.optional(Schema.Array(PersonaChoice))
}

export const choiceTexts = {
  /** Above the keyboard of `/model`; `{current}` is the user's model (its name, or `standard`). */
  modelPrompt: text("Which model should answer you? Now: {current}."),
  /** Above the keyboard of `/persona`; `{current}` is the user's persona (its name, or `standard`). */
  personaPrompt: text("How should I talk to you? Now: {current}."),
  /** The answer to a button (`answerCallbackQuery`); `{name}` is the choice, used from the next message. */
  choiceSaved: text("{name} it is, from your next message."),
  /** A button of a choice the profile no longer offers (an old keyboard): nothing is changed. */
  choiceStale: text("That choice is no longer offered: send /model or /persona again."),
  /** `/model` or `/persona` when the profile offers nothing to choose. */
  noChoice: text("There is nothing to choose here.")
}
