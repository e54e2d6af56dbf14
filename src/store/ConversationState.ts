/**
 * Small state the bot keeps about conversations and connections beyond their history: a
 * business connection as Telegram last described it, an owner's takeover of a business chat,
 * and the like. Each entry is a text (JSON, decoded with Schema by its owner) under a key
 * (`business:<id>`, `takeover:<conversation key>`); writing a key replaces its value.
 */
import { Context, type Effect, type Option } from "effect"
import type { StoreError } from "../domain/errors.ts"

export interface ConversationStateService {
  /** The value stored under `key`, if any. */
  readonly get: (key: string) => Effect.Effect<Option.Option<string>, StoreError>
  /** Stores `value` under `key`, replacing what was there. */
  readonly put: (key: string, value: string) => Effect.Effect<void, StoreError>
  /** Removes `key`; whether it was there. */
  readonly remove: (key: string) => Effect.Effect<boolean, StoreError>
}

export class ConversationState extends Context.Tag("dialog-bot/ConversationState")<
  ConversationState,
  ConversationStateService
>() {}
