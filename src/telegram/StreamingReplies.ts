/**
 * Answers shown as they are written. In a private chat the answer streams into drafts
 * (`sendMessageDraft`): the empty draft (Telegram's own "Thinking…" placeholder, Bot API 10.0)
 * while the dialog thinks, a short note while a tool works, then the answer as it
 * grows, at most one draft per `STREAM_DRAFT_INTERVAL`, then one final message. In a group,
 * with `STREAM_IN_GROUPS`, a first message is sent and edited at most once a second until the
 * final edit makes it the answer. Elsewhere (and with `STREAM_REPLIES=false`) only the final
 * message goes out.
 *
 * Drafts and intermediate edits are best effort and are not messages: only the final send
 * (or the final edit of a group's first message) is delivered through the `Messenger`, so the
 * delivery records and the one-answer-per-update guarantee count only it. A crash mid-stream
 * re-runs the update, which sends its one final message. A Bot API server that refuses drafts
 * (one older than Bot API 9.3, or a local server) turns drafts off for the process, with one
 * log line; the answer still goes out as a message.
 */
import { Context, Duration, Effect, Fiber, Layer, Option, Random, Ref, type Scope } from "effect"
import type { Destination } from "../domain/Destination.ts"
import { type FormattedText, plain } from "./format/FormattedText.ts"
import { markdownRenderer } from "./format/markdown.ts"
import { toRichMarkdown } from "./format/richMarkdown.ts"
import { Messenger, type SendError } from "./Messenger.ts"
import { SendConfig } from "./SendConfig.ts"
import { splitFormatted } from "./splitText.ts"
import { StreamConfig } from "./StreamConfig.ts"
import { type CallOptions, TelegramApi, type TelegramError } from "./TelegramApi.ts"

/** One answer being written. */
export interface AnswerStream {
  /** Whether the answer is shown as it is written; when not, only `finish` sends anything. */
  readonly live: Effect.Effect<boolean>
  /**
   * The answer so far, as the model's Markdown: shown at the pace of drafts or edits. Called
   * by the model's reader once per piece (an `OnText`), so it only keeps the newest text.
   */
  readonly show: (markdown: string) => void
  /** What the bot is doing before the first text (a tool at work): shown in the placeholder draft. */
  readonly working: (note: string) => void
  /**
   * Sends the final answer (the model's Markdown), the update's delivered message(s): a rich
   * message where the Bot API takes it, else text with entities; drafts and edits stop. How many messages.
   */
  readonly finish: (markdown: string) => Effect.Effect<number, SendError>
  /** The draft the answer is shown in (its Stop button names it); none when it is not shown in drafts. */
  readonly draftId: number | undefined
  /** Stops showing the answer (no draft or edit after it): what was shown, and whether to keep it. */
  readonly stop: Effect.Effect<StoppedAnswer>
}

/** An answer stopped by the user: the Markdown last shown ("" when none was) and whether it is to be sent (`STOP_KEEPS_PARTIAL`). */
export interface StoppedAnswer {
  readonly shown: string
  readonly keep: boolean
}

export interface StreamingRepliesService {
  /** Starts an answer to `to` in a chat of `chatType`; drafts show the "Thinking…" placeholder until the first text. */
  readonly open: (to: Destination, chatType: string) => Effect.Effect<AnswerStream, never, Scope.Scope>
  /**
   * Whether an answer to `to` opened now would stream into drafts. A draft shows the bot at
   * work, so the dialog sends no `typing` indicator beside it.
   */
  readonly showsDrafts: (to: Destination, chatType: string) => Effect.Effect<boolean>
}

export class StreamingReplies extends Context.Tag("dialog-bot/StreamingReplies")<StreamingReplies, StreamingRepliesService>() {}

/**
 * A draft is a preview Telegram shows for about 30 seconds: one that has not changed for this
 * long (a long think stage) is sent again.
 */
export const draftRefresh = Duration.seconds(20)

/** Edits of a group's first message are at most this frequent (Telegram limits edits per chat). */
export const editInterval = Duration.seconds(1)

/** The Bot API server does not know `sendMessageDraft`. */
export const isDraftRefused = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" &&
  (error.errorCode === 404 || (error.errorCode === 400 && /method not found|unknown method|not supported/i.test(error.description)))

/** The Bot API server has no rich messages (one older than Bot API 10.1, or a local server). */
const isRichMissing = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" &&
  (error.errorCode === 404 || (error.errorCode === 400 && /method not found|unknown method/i.test(error.description)))

/** A rich message refused: the method is missing, or this message's content (or destination) is not taken. */
const isRichRefused = (error: SendError): error is TelegramError =>
  error._tag === "TelegramApiError" && (error.errorCode === 400 || error.errorCode === 404) && !isNotModified(error)

const isNotModified = (error: TelegramError): boolean =>
  error._tag === "TelegramApiError" && error.errorCode === 400 && /not modified/i.test(error.description)

/**
 * The newest text of an answer, kept until taken: `set` is synchronous (the model's reader calls
 * it once per piece), `take` waits for a text newer than the last one taken. Texts are kept as
 * the model's Markdown and formatted only when shown: a stream of many small deltas is parsed
 * once per interval.
 */
interface Latest<A> {
  readonly set: (text: A) => void
  readonly take: Effect.Effect<A>
}

const makeLatest = <A>(): Latest<A> => {
  let pending: A | undefined
  let waiting: ((text: A) => void) | undefined
  return {
    set: (text) => {
      const wake = waiting
      waiting = undefined
      if (wake === undefined) pending = text
      else wake(text)
    },
    take: Effect.async<A>((resume) => {
      const text = pending
      if (text !== undefined) {
        pending = undefined
        return resume(Effect.succeed(text))
      }
      waiting = (next) => resume(Effect.succeed(next))
      return Effect.sync(() => {
        waiting = undefined
      })
    })
  }
}

/** The placeholder a draft shows before the first text of the answer: empty (Telegram's "Thinking…"), or a note. */
class Thinking {
  constructor(readonly text: string) {}
}

/** What a draft or an edit can show: the part being written (the last one of a long answer). */
const visiblePart = (formatted: FormattedText): Option.Option<FormattedText> =>
  Option.fromNullable(splitFormatted(formatted).at(-1))

export const makeStreamingReplies = Effect.gen(function*() {
  const { toEntities: markdownToEntities } = yield* markdownRenderer
  const api = yield* TelegramApi
  const messenger = yield* Messenger
  const config = yield* StreamConfig
  const send = yield* SendConfig
  const draftsRefused = yield* Ref.make(false)
  // Draft ids start anywhere: a stop names its draft, and another process's drafts (a replica,
  // the previous run) should not share the ids of this one's.
  const draftIds = yield* Ref.make(yield* Random.nextIntBetween(1, 1_000_000_000))
  /** The Bot API server said it has no rich messages (remembered with `RICH_MESSAGES=auto`). */
  let richMissing = false

  /** The answer's rich Markdown when it goes as a rich message (`RICH_MESSAGES`, and what the server said). */
  const richOf = (markdown: string): Option.Option<string> =>
    config.richMessages === "off" || (config.richMessages === "auto" && richMissing) ? Option.none() : toRichMarkdown(markdown)

  /**
   * A refusal of a rich message or draft, told once: a missing method is remembered for the
   * process (`auto`) with one log line; a refused content concerns that message only.
   */
  const richRefusal = (error: TelegramError): Effect.Effect<void> => {
    if (!isRichMissing(error)) return Effect.logWarning(`rich message refused (${error.message}), sent as text`)
    if (config.richMessages === "on") return Effect.logWarning(`the Bot API has no rich messages (${error.message}), sent as text`)
    if (richMissing) return Effect.void
    richMissing = true
    return Effect.logWarning(`the Bot API has no rich messages (${error.message}): answers go as text with entities until restart`)
  }

  /** The final answer: one rich message, or (refused, too long, turned off) text with entities split into messages. */
  const sendFinal = (to: Destination, markdown: string): Effect.Effect<number, SendError> =>
    Option.match(richOf(markdown), {
      onNone: () => messenger.reply(to, markdownToEntities(markdown)),
      onSome: (rich) =>
        messenger.deliver(to, (options) => Effect.asVoid(api.sendRichMessage({ ...to, markdown: rich }, options))).pipe(
          Effect.as(1),
          Effect.catchIf(isRichRefused, (error) => Effect.zipRight(richRefusal(error), messenger.reply(to, markdownToEntities(markdown))))
        )
    })

  /** Repeats `step` on the newest text shown, at most once per `interval`, until stopped. */
  const pace = <A>(
    latest: Latest<A>,
    interval: Duration.Duration,
    step: (text: A) => Effect.Effect<boolean>,
    refresh?: Duration.Duration
  ) =>
    Effect.gen(function*() {
      let going = true
      let shown: A | undefined
      while (going) {
        const next = refresh === undefined || shown === undefined
          ? Option.some(yield* latest.take)
          : yield* Effect.timeoutOption(latest.take, refresh)
        // Nothing new for `refresh`: the same text again, before Telegram lets it fade.
        shown = Option.getOrElse(next, () => shown)
        if (shown !== undefined) going = yield* step(shown)
        if (going) yield* Effect.sleep(interval)
      }
    })

  const drafts = (to: Destination) =>
    Effect.gen(function*() {
      const draftId = yield* Ref.updateAndGet(draftIds, (n) => (n >= 2_147_483_647 ? 1 : n + 1))
      const latest = makeLatest<string | Thinking>()
      /** The Markdown of the last draft sent (what a stop keeps: the user may have seen it). */
      let shownMarkdown = ""
      const step = (showing: string | Thinking) =>
        // The placeholder may be empty: it is shown as it is, not as a part of a text.
        Option.match(showing instanceof Thinking ? Option.some(plain(showing.text)) : visiblePart(markdownToEntities(showing)), {
          onNone: () => Effect.succeed(true),
          onSome: (part) => {
            if (typeof showing === "string") shownMarkdown = showing
            const asText = api.sendMessageDraft({
              to,
              draftId,
              text: part.text,
              entities: part.entities,
              canStop: true,
              keepOnStop: config.stopKeepsPartial
            })
            const rich = typeof showing === "string" ? richOf(showing) : Option.none()
            const draft = Option.isNone(rich) ? asText : api.sendRichMessageDraft({
              to,
              draftId,
              markdown: rich.value,
              canStop: true,
              keepOnStop: config.stopKeepsPartial
            }).pipe(Effect.catchIf(isRichRefused, (error) => Effect.zipRight(richRefusal(error), asText)))
            return draft.pipe(
              Effect.as(true),
              Effect.catchAll((error) =>
                isDraftRefused(error)
                  ? Effect.flatMap(Ref.getAndSet(draftsRefused, true), (before) =>
                    before
                      ? Effect.succeed(false)
                      : Effect.as(Effect.logWarning(`the Bot API refused a draft (${error.message}): streaming is off until restart`), false))
                  : Effect.as(Effect.logDebug(`draft not shown: ${error.message}`), true)
              )
            )
          }
        })
      latest.set(new Thinking(""))
      /** Whether the answer's text has started: a note about a tool no longer replaces it. */
      let writing = false
      const loop = yield* Effect.forkScoped(pace(latest, config.draftInterval, step, draftRefresh))
      return {
        live: Effect.map(Ref.get(draftsRefused), (refused) => !refused),
        show: (markdown) => {
          writing = true
          latest.set(markdown)
        },
        working: (note) => {
          if (!writing) latest.set(new Thinking(note))
        },
        finish: (markdown) => Effect.zipRight(Fiber.interrupt(loop), sendFinal(to, markdown)),
        draftId,
        stop: Effect.zipRight(Fiber.interrupt(loop), Effect.sync(() => ({ shown: shownMarkdown, keep: config.stopKeepsPartial })))
      } satisfies AnswerStream
    })

  const edits = (to: Destination) =>
    Effect.gen(function*() {
      const latest = makeLatest<string>()
      const first = yield* Ref.make(Option.none<number>())
      let shownMarkdown = ""
      const step = (markdown: string) =>
        Effect.flatMap(Ref.get(first), (sent) => {
          const part = splitFormatted(markdownToEntities(markdown))[0]
          if (part === undefined) return Effect.succeed(true)
          const shown = Option.match(sent, {
            onNone: () =>
              Effect.flatMap(
                api.sendMessage({ ...to, text: part.text, entities: part.entities }, { retry: send }),
                (message) => Ref.set(first, Option.some(message.message_id))
              ),
            onSome: (messageId) => api.editMessageText({ to, messageId, text: part.text, entities: part.entities })
          })
          return shown.pipe(
            Effect.tap(() => {
              shownMarkdown = markdown
            }),
            Effect.as(true),
            // An edit that changes nothing, or any other failure: the final edit or message still comes.
            Effect.catchAll((error) =>
              isNotModified(error) ? Effect.succeed(true) : Effect.as(Effect.logDebug(`streamed message not updated: ${error.message}`), true)
            )
          )
        })
      const loop = yield* Effect.forkScoped(pace(latest, Duration.max(editInterval, config.draftInterval), step))
      const finish = (markdown: string) =>
        Effect.gen(function*() {
          yield* Fiber.interrupt(loop)
          const sent = yield* Ref.get(first)
          if (Option.isNone(sent)) return yield* sendFinal(to, markdown)
          const answer = markdownToEntities(markdown)
          const [head, ...rest] = splitFormatted(answer)
          if (head === undefined) return yield* messenger.reply(to, answer)
          const rich = richOf(markdown)
          const asText = (options: CallOptions) =>
            api.editMessageText({ to, messageId: sent.value, text: head.text, entities: head.entities }, options)
          /** Whether the edit made the message the whole answer, as a rich message. */
          let whole = false
          // The first message becomes the answer (rich: all of it), or its first part: that edit is the delivered message.
          const edited = yield* messenger.deliver(to, (options) =>
            (Option.isNone(rich) ? asText(options) : Effect.suspend(() => {
              whole = true
              return api.editMessageText({ to, messageId: sent.value, text: "", richMarkdown: rich.value }, options)
            }).pipe(
              Effect.catchIf(isRichRefused, (error) => {
                whole = false
                return Effect.zipRight(richRefusal(error), asText(options))
              })
            )).pipe(
              Effect.catchIf(isNotModified, () => Effect.void)
            )).pipe(
              Effect.map(() => true),
              Effect.catchIf(
                (e): e is TelegramError => e._tag === "TelegramApiError" || e._tag === "TelegramTransportError",
                (e) => Effect.as(Effect.logWarning(`streamed message not finished (${e.message}), sending the answer anew`), false)
              )
            )
          if (!edited) return yield* messenger.reply(to, answer)
          if (whole) return 1
          let count = 1
          for (const part of rest) count += yield* messenger.reply(to, part)
          return count
        })
      return {
        live: Effect.succeed(true),
        show: latest.set,
        working: () => {},
        finish,
        draftId: undefined,
        stop: Effect.zipRight(Fiber.interrupt(loop), Effect.sync(() => ({ shown: shownMarkdown, keep: config.stopKeepsPartial })))
      } satisfies AnswerStream
    })

  const showsDrafts: StreamingRepliesService["showsDrafts"] = (to, chatType) =>
    chatType === "private" && config.replies && to.businessConnectionId === undefined
      ? Effect.map(Ref.get(draftsRefused), (refused) => !refused)
      : Effect.succeed(false)

  const open: StreamingRepliesService["open"] = (to, chatType) =>
    Effect.gen(function*() {
      if (yield* showsDrafts(to, chatType)) return yield* drafts(to)
      if ((chatType === "group" || chatType === "supergroup") && config.inGroups) return yield* edits(to)
      return {
        live: Effect.succeed(false),
        show: () => {},
        working: () => {},
        finish: (markdown) => sendFinal(to, markdown),
        draftId: undefined,
        stop: Effect.succeed({ shown: "", keep: config.stopKeepsPartial })
      } satisfies AnswerStream
    })

  return StreamingReplies.of({ open, showsDrafts })
})

export const StreamingRepliesLive = Layer.effect(StreamingReplies, makeStreamingReplies)
