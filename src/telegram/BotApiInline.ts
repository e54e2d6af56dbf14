/**
 * Parameters and results of the Bot API methods of inline mode and guest mode (Bot API 10.0):
 * `answerInlineQuery`, `answerGuestQuery` and `editMessageText` by `inline_message_id`,
 * defined as methods in `BotApiMethods.ts`.
 */
import { Schema } from "effect"
import type { TextEntity } from "./format/FormattedText.ts"
import { type BotApiParams, defined, nonEmpty } from "./BotApiProtocol.ts"

/**
 * An article an inline answer or a guest answer consists of (`InlineQueryResultArticle` with an
 * `InputTextMessageContent`): what the user sees in the results, and the text of the message sent.
 */
export interface InlineArticle {
  readonly id: string
  readonly title: string
  readonly description?: string | undefined
  readonly text: string
  readonly entities?: ReadonlyArray<TextEntity> | undefined
  /**
   * A button under the message (`switch_inline_query_current_chat` with this text): with an
   * inline keyboard, the sent message has an `inline_message_id` the bot can edit.
   */
  readonly askAgain?: string | undefined
}

/** An answer to an inline query (`answerInlineQuery`). */
export interface InlineAnswer {
  readonly queryId: string
  readonly results: ReadonlyArray<InlineArticle>
  /** Seconds Telegram may keep the results for the same query text. */
  readonly cacheTime: number
  /** A button above the results that opens the private chat with `/start <startParameter>`. */
  readonly button?: { readonly text: string; readonly startParameter: string } | undefined
}

/** A new text of an inline message (sent via the bot, or a guest answer), by its `inline_message_id`. */
export interface EditInlineText {
  readonly inlineMessageId: string
  readonly text: string
  readonly entities?: ReadonlyArray<TextEntity> | undefined
}

/** What `answerGuestQuery` answers (`SentGuestMessage`): the message, to edit it later. */
export const SentGuestMessage = Schema.Struct({ inline_message_id: Schema.String })
export type SentGuestMessage = typeof SentGuestMessage.Type

/** An article as Telegram takes it: an `InlineQueryResultArticle`. */
export const articleParams = (article: InlineArticle): BotApiParams =>
  defined({
    type: "article",
    id: article.id,
    title: article.title,
    description: article.description,
    input_message_content: defined({ message_text: article.text, entities: nonEmpty(article.entities) }),
    reply_markup: article.askAgain === undefined
      ? undefined
      : { inline_keyboard: [[{ text: article.askAgain, switch_inline_query_current_chat: "" }]] }
  })
