/**
 * Feedback on the bot's answers: a reaction a user puts on an answer (`message_reaction`),
 * positive or negative by the profile's mapping, kept with the question and the answer it is
 * about, so that the answers people disliked can be exported as a regression set
 * (`feedback export`). The store knows which messages are answers: the pipeline records each
 * answer's messages as it sends them.
 */
import { Context, type Effect, type Option } from "effect"
import type { StoreError } from "../domain/errors.ts"
import type { TelegramId } from "../domain/Update.ts"

/** A message of the bot that answers a user's question. */
export interface AnsweredMessage {
  readonly chatId: TelegramId
  readonly messageId: number
  /** The update of the question (what `replay` keys its replies by). */
  readonly updateId: TelegramId
  readonly userId: TelegramId
  readonly question: string
  readonly answer: string
  /** When the answer was sent (epoch millis). */
  readonly at: number
}

export type FeedbackKind = "positive" | "negative"

/** One user's reaction on an answer, with the answer. */
export interface Feedback extends AnsweredMessage {
  readonly kind: FeedbackKind
  readonly emoji: string
  readonly reactedBy: TelegramId
  /** When the reaction was put (epoch millis). */
  readonly reactedAt: number
}

export interface Reaction {
  readonly chatId: TelegramId
  readonly messageId: number
  readonly reactedBy: TelegramId
  readonly reactedAt: number
  /** The reaction's kind and emoji; none when the user took it away (or put one that is neither). */
  readonly feedback: Option.Option<{ readonly kind: FeedbackKind; readonly emoji: string }>
}

export interface FeedbackStoreService {
  /** Records a message of the bot as the answer to a question. */
  readonly recordAnswer: (answer: AnsweredMessage) => Effect.Effect<void, StoreError>
  /**
   * Keeps a user's reaction on a message (their latest replaces the earlier; none removes it).
   * The feedback kept, or none when the message is not a known answer or the reaction was taken away.
   */
  readonly react: (reaction: Reaction) => Effect.Effect<Option.Option<Feedback>, StoreError>
  /** The feedback kept, oldest reaction first: since a time (epoch millis), of one kind. */
  readonly list: (filter: { readonly since?: number | undefined; readonly kind?: FeedbackKind | undefined }) => Effect.Effect<ReadonlyArray<Feedback>, StoreError>
}

export class FeedbackStore extends Context.Tag("dialog-bot/FeedbackStore")<FeedbackStore, FeedbackStoreService>() {}
