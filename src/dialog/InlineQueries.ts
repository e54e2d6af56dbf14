/**
 * Inline mode: a user types `@bot question` in any chat. An answer cannot come within the time
 * Telegram gives an inline query, so the result is one article the user can send: the question
 * with "Asking…" (`inlineAsking`) and a button under it. The button matters: only a message
 * with an inline keyboard has an `inline_message_id`, which Telegram passes in
 * `chosen_inline_result` once the user sends the article (inline feedback must be on in
 * BotFather). That update starts the real turn, and its answer is edited into the sent message.
 *
 * Typing sends a query per keystroke: a user's query is answered only when no newer one came
 * within `INLINE_DEBOUNCE` (600 ms by default). An empty query gets no results, only a button
 * to the private chat (`inlineHelp`). Telegram keeps an answer for the same text for
 * `INLINE_CACHE_TIME` seconds, per user (the texts are in the user's language). The queries of
 * a burst run side by side (each update is its own queue key), so the newest one is known to
 * the older ones while they wait; in a cluster each replica knows the queries it runs.
 */
import { Effect, Option } from "effect"
import { inlineConversation } from "../domain/Caller.ts"
import type { ChosenInlineResult, InlineQuery, Message, TelegramId } from "../domain/Update.ts"
import { BotProfile } from "../profile/BotProfile.ts"
import { userTexts } from "../profile/UserLanguage.ts"
import { SendConfig } from "../telegram/SendConfig.ts"
import { TelegramApi } from "../telegram/TelegramApi.ts"
import type { CalledSite } from "./CalledTurn.ts"
import { DialogConfig } from "./DialogConfig.ts"

/** A chosen result as the pipeline reads a turn: the query as the user's private text. */
const turnMessage = (result: ChosenInlineResult): Message => ({
  message_id: 0,
  date: 0,
  chat: { id: result.from.id, type: "private" },
  from: result.from,
  text: result.query
})

export const makeInlineQueries = Effect.gen(function*() {
  const api = yield* TelegramApi
  const config = yield* DialogConfig
  const profile = yield* BotProfile
  const send = yield* SendConfig
  /** The newest inline query (its update id) of each user with one waiting. */
  const newest = new Map<TelegramId, TelegramId>()

  /** Answers `query` unless a newer one of its user comes within the debounce; what became of it. */
  const answer = (updateId: TelegramId, query: InlineQuery): Effect.Effect<string> =>
    Effect.gen(function*() {
      const user = query.from.id
      newest.set(user, Math.max(newest.get(user) ?? updateId, updateId) as TelegramId)
      yield* Effect.sleep(config.inlineDebounce).pipe(
        // A query stopped while it waits (a shutdown) leaves no entry behind.
        Effect.onInterrupt(() => Effect.sync(() => newest.get(user) === updateId && newest.delete(user)))
      )
      if (newest.get(user) !== updateId) return "inline_query: a newer one came"
      newest.delete(user)
      const texts = yield* userTexts(profile)
      const question = query.query.trim()
      const fill = (text: string) => text.replaceAll("{query}", question)
      yield* api.answerInlineQuery(
        question === ""
          ? { queryId: query.id, results: [], cacheTime: config.inlineCacheTime, button: { text: texts.inlineHelp, startParameter: "inline" } }
          : {
            queryId: query.id,
            cacheTime: config.inlineCacheTime,
            results: [{
              id: "ask",
              title: fill(texts.inlineTitle),
              description: texts.inlineDescription,
              text: fill(texts.inlineAsking),
              askAgain: texts.inlineAskAgain
            }]
          }
      )
      return question === "" ? "inline_query: empty, help offered" : "inline_query answered"
    }).pipe(
      // An answer that comes too late (the query expired) is of no use later: not retried.
      Effect.catchTag("TelegramApiError", "TelegramTransportError", (e) =>
        Effect.as(Effect.logWarning(`answerInlineQuery failed: ${e.message}`), "inline_query unanswered"))
    )

  /**
   * The turn a sent inline result starts: its message as the pipeline reads it, and where its
   * answer goes (edited into the sent message); none without an `inline_message_id`.
   */
  const chosen = (result: ChosenInlineResult): Option.Option<{ readonly message: Message; readonly site: CalledSite }> =>
    Option.map(Option.fromNullable(result.inline_message_id), (inlineMessageId) => ({
      message: turnMessage(result),
      site: {
        conversation: inlineConversation(result.from),
        deliver: (text) => api.editInlineMessageText({ inlineMessageId, text: text.text, entities: text.entities }, { retry: send })
      }
    }))

  return { answer, chosen }
})

/** Inline mode as the pipeline and its routes share it (one per pipeline). */
export type InlineQueries = Effect.Effect.Success<typeof makeInlineQueries>
