/**
 * `/model` and `/persona`: the profile's models or personas as an inline keyboard; a button
 * keeps the user's choice for their next messages (`Choices.ts`).
 */
import { Effect } from "effect"
import { type ChoiceKind, makeChoices } from "./Choices.ts"
import { defineCommand } from "./Command.ts"

const choiceCommand = (kind: ChoiceKind, description: string) =>
  defineCommand({
    name: kind,
    description,
    handler: ({ businessConnectionId, chatId, threadId, userId }) =>
      Effect.flatMap(makeChoices, (choices) => choices.ask(kind, { chatId, threadId, businessConnectionId }, userId))
  })

export const modelCommand = choiceCommand("model", "choose the model that answers you")
export const personaCommand = choiceCommand("persona", "choose how the bot talks to you")
